import SQLKit
import Synchronization

/// SQL text written by SQLKit once per query shape and dialect, then reused with each call's
/// bound values.
///
/// SQLKit builds and quotes a statement on every call: for the queries every request makes (its
/// session, a deal, a page of deals) that was about a tenth of the server's CPU, most of it
/// quoting identifiers. The shape's builder still writes the statement (no SQL is written by
/// hand), and values are still bound, never spliced. A shape is cached only after its first
/// statement is seen to bind exactly the values the caller lists, in that order; otherwise
/// every call serializes afresh, which is slower but never wrong.
public enum StatementCache {
    private static let texts = Mutex<[String: String]>([:])

    /// A fetcher for the statement `build` makes, with `binds` as its values.
    /// - Parameters:
    ///   - shape: names the statement's shape: the same text for every call with this name.
    ///   - binds: the values `build` binds, in order.
    public static func statement(
        _ shape: String, binds: [any Encodable & Sendable], on database: any SQLDatabase,
        _ build: (any SQLDatabase) -> any SQLExpression
    ) -> CachedStatement {
        let key = database.dialect.name + "\u{1F}" + shape
        if let text = texts.withLock({ $0[key] }) {
            return CachedStatement(query: Serialized(text: text, binds: binds), database: database)
        }
        let (text, serializedBinds) = database.serialize(build(database))
        if serializedBinds.count == binds.count,
           zip(serializedBinds, binds).allSatisfy({ String(reflecting: $0.0) == String(reflecting: $0.1) }) {
            texts.withLock { $0[key] = text }
        }
        return CachedStatement(query: Serialized(text: text, binds: serializedBinds), database: database)
    }

    /// Statement text with its values: the text as SQLKit wrote it, placeholders numbered from
    /// the first, so it serializes on its own exactly as when it was cached.
    struct Serialized: SQLExpression {
        let text: String
        let binds: [any Encodable & Sendable]

        func serialize(to serializer: inout SQLSerializer) {
            serializer.write(text)
            serializer.binds.append(contentsOf: binds)
        }
    }
}

/// A cached statement ready to run: SQLKit's fetch methods (`all`, `first`, `run`) apply.
public final class CachedStatement: SQLQueryFetcher, Sendable {
    public let query: any SQLExpression
    public let database: any SQLDatabase

    init(query: any SQLExpression, database: any SQLDatabase) {
        self.query = query
        self.database = database
    }
}
