import SQLKit
import SQLiteKit
import SQLiteNIO

/// A row read by `SQLiteReadConnection`, decoded as SQLiteKit's rows are (`SQLiteDataDecoder`),
/// with the common column types (text, integers, booleans, and their optionals) read directly.
struct SQLiteReadRow: SQLRow {
    /// A statement's column names and where each is (the first of a repeated name wins).
    final class Columns: Sendable {
        let names: [String]
        private let index: [String: Int]

        init(names: [String]) {
            self.names = names
            var index: [String: Int] = [:]
            for (position, name) in names.enumerated() where index[name] == nil { index[name] = position }
            self.index = index
        }

        /// Where `name` is. A short scan first (a row has a few dozen columns, and comparing
        /// short names is cheaper than hashing them), the table for wide rows.
        func position(of name: String) -> Int? {
            if names.count <= 24 { return names.firstIndex(of: name) }
            return index[name]
        }
    }

    let columns: Columns
    let values: [SQLiteData]

    var allColumns: [String] { columns.names }

    func contains(column: String) -> Bool { columns.position(of: column) != nil }

    func decodeNil(column: String) throws -> Bool {
        guard let position = columns.position(of: column) else { return true }
        return values[position] == .null
    }

    func decode<D: Decodable>(column: String, as type: D.Type) throws -> D {
        guard let position = columns.position(of: column) else { throw MissingColumn(column: column) }
        let value = values[position]
        // The repositories' column types, without the generic decoder: comparing metatypes is a
        // pointer comparison, and the value is then exactly a `D`.
        let wanted = ObjectIdentifier(D.self)
        switch value {
        case .text(let text):
            if wanted == Self.string { return unsafeBitCast(text, to: D.self) }
            if wanted == Self.optionalString { return unsafeBitCast(Optional(text), to: D.self) }
        case .integer(let integer):
            if wanted == Self.int { return unsafeBitCast(Int(integer), to: D.self) }
            if wanted == Self.int64 { return unsafeBitCast(Int64(integer), to: D.self) }
            // Booleans are stored as 0 or 1; anything else goes to the decoder, which refuses it.
            if wanted == Self.bool, integer == 0 || integer == 1 { return unsafeBitCast(integer == 1, to: D.self) }
            if wanted == Self.optionalInt { return unsafeBitCast(Optional(Int(integer)), to: D.self) }
            if wanted == Self.optionalInt64 { return unsafeBitCast(Optional(Int64(integer)), to: D.self) }
            if wanted == Self.optionalBool, integer == 0 || integer == 1 { return unsafeBitCast(Optional(integer == 1), to: D.self) }
        case .null:
            if wanted == Self.optionalString { return unsafeBitCast(String?.none, to: D.self) }
            if wanted == Self.optionalInt { return unsafeBitCast(Int?.none, to: D.self) }
            if wanted == Self.optionalInt64 { return unsafeBitCast(Int64?.none, to: D.self) }
            if wanted == Self.optionalBool { return unsafeBitCast(Bool?.none, to: D.self) }
        default:
            break
        }
        return try SQLiteDataDecoder().decode(D.self, from: value)
    }

    private static let string = ObjectIdentifier(String.self)
    private static let optionalString = ObjectIdentifier(String?.self)
    private static let int = ObjectIdentifier(Int.self)
    private static let int64 = ObjectIdentifier(Int64.self)
    private static let bool = ObjectIdentifier(Bool.self)
    private static let optionalInt = ObjectIdentifier(Int?.self)
    private static let optionalInt64 = ObjectIdentifier(Int64?.self)
    private static let optionalBool = ObjectIdentifier(Bool?.self)

    struct MissingColumn: Error {
        let column: String
    }
}
