import Foundation
import ZakOpsCore

/// One versioned schema change in one dialect: `NNNN_name.sql`, recorded with its checksum.
public struct Migration: Sendable, Equatable {
    /// The file's stem, for example `0001_create_operators`; ordering follows it.
    public let version: String
    public let sql: String
    /// Lower-case hex SHA-256 of the file's bytes.
    public let checksum: String

    public init(version: String, sql: String) {
        self.version = version
        self.sql = sql
        self.checksum = Digest.sha256Hex(sql)
    }

    /// The statements of the file, split at semicolons that end a line. Migration files keep
    /// one statement per `;`-terminated block and put no semicolon at a line end inside a literal.
    var statements: [String] {
        var statements: [String] = []
        var current: [Substring] = []
        for line in sql.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("--") || trimmed.isEmpty { continue }
            current.append(line)
            if trimmed.hasSuffix(";") {
                statements.append(current.joined(separator: "\n"))
                current.removeAll()
            }
        }
        let rest = current.joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
        if !rest.isEmpty { statements.append(rest) }
        return statements
    }
}
