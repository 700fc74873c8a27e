import SQLKit
import SQLiteKit
import SQLiteNIO

/// A row read by `SQLiteReadConnection`, decoded as SQLiteKit's rows are (`SQLiteDataDecoder`),
/// with the common column types (text, integers, booleans, and their optionals) read directly.
struct SQLiteReadRow: SQLRow {
    /// A statement's column names and where each is (the first of a repeated name wins).
    final class Columns: Sendable {
        let names: [String]
        let index: [String: Int]

        init(names: [String]) {
            self.names = names
            var index: [String: Int] = [:]
            for (position, name) in names.enumerated() where index[name] == nil { index[name] = position }
            self.index = index
        }
    }

    let columns: Columns
    let values: [SQLiteData]

    var allColumns: [String] { columns.names }

    func contains(column: String) -> Bool { columns.index[column] != nil }

    func decodeNil(column: String) throws -> Bool {
        guard let position = columns.index[column] else { return true }
        return values[position] == .null
    }

    func decode<D: Decodable>(column: String, as type: D.Type) throws -> D {
        guard let position = columns.index[column] else { throw MissingColumn(column: column) }
        let value = values[position]
        switch value {
        case .text(let text):
            if let text = text as? D { return text }
            if let text = Optional(text) as? D { return text }
        case .integer(let integer):
            if D.self == Int.self || D.self == Int?.self { return Int(integer) as! D }
            if D.self == Int64.self || D.self == Int64?.self { return Int64(integer) as! D }
            if D.self == Bool.self || D.self == Bool?.self { return (integer != 0) as! D }
        case .null:
            if let none = Optional<String>.none as? D { return none }
        default:
            break
        }
        return try SQLiteDataDecoder().decode(D.self, from: value)
    }

    struct MissingColumn: Error {
        let column: String
    }
}
