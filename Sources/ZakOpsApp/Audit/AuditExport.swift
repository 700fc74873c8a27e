import Crypto
import Foundation
import SQLKit
import ZakOpsCore
import ZakOpsStore

/// `zakops audit export` and `GET /api/admin/audit/export`: the entries of a time window as JSON
/// lines (each with its MAC), then one line `{"manifest": …}` naming the first and last number,
/// the MAC the first chains from, the chain head, the SHA-256 of the entry lines, and an HMAC
/// over all of it. `zakops audit verify --export FILE` checks such a file offline: one changed
/// byte anywhere is found. The range is contiguous in commit order (what the chain needs): it
/// runs from the first entry written at or after `since` to the last written at or before
/// `until`. Every export is itself an audit entry, written after it.
public struct AuditExport: Sendable {
    let database: Database
    let keys: KeyRing

    public init(database: Database, keys: KeyRing) {
        self.database = database
        self.keys = keys
    }

    public struct Manifest: Sendable, Codable, Equatable {
        public let since: String?
        public let until: String?
        public let firstSeq: Int64?
        public let lastSeq: Int64?
        public let count: Int
        public let previousMAC: String
        public let chainHead: String
        public let sha256: String
        public let exportedAt: String
        public let keyID: String
        public var hmac: String
        enum CodingKeys: String, CodingKey {
            case since, until, count, sha256, hmac
            case firstSeq = "first_seq"
            case lastSeq = "last_seq"
            case previousMAC = "previous_mac"
            case chainHead = "chain_head"
            case exportedAt = "exported_at"
            case keyID = "key_id"
        }

        var signedText: String {
            get throws {
                var unsigned = self
                unsigned.hmac = ""
                return "audit-export-v1|" + (try JSONText.encode(unsigned))
            }
        }
    }

    struct ManifestLine: Codable {
        let manifest: Manifest
    }

    static let page = 500

    /// Writes the export through `emit` (one line at a time, each ending in a newline) and
    /// records it in the audit trail as `change`'s; returns the manifest.
    func write(since: Date?, until: Date?, by change: ChangeContext, emit: (String) async throws -> Void) async throws -> Manifest {
        let from = since.map { Timestamp.string(from: $0) }, to = until.map { Timestamp.string(from: $0) }
        let (first, last, previous) = try await database.read { sql -> (Int64?, Int64?, String) in
            let floor = max(try await AuditChain.chainStart(in: sql), (try await AuditChain.checkpoints(in: sql).last?.seq ?? 0) + 1)
            var firstQuery = sql.select().column(SQLFunction("min", args: SQLColumn("seq")), as: "n").from("audit_log")
                .where("seq", .greaterThanOrEqual, SQLBind(floor))
            if let from { firstQuery = firstQuery.where("occurred_at", .greaterThanOrEqual, SQLBind(from)) }
            var lastQuery = sql.select().column(SQLFunction("max", args: SQLColumn("seq")), as: "n").from("audit_log")
                .where("seq", .greaterThanOrEqual, SQLBind(floor))
            if let to { lastQuery = lastQuery.where("occurred_at", .lessThanOrEqual, SQLBind(to)) }
            let first = try await firstQuery.first()?.decode(column: "n", as: Int64?.self) ?? nil
            let last = try await lastQuery.first()?.decode(column: "n", as: Int64?.self) ?? nil
            var previous = ""
            if let first { previous = try await AuditChain.previousMAC(before: first, in: sql) }
            return (first, last, previous)
        }
        var hash = SHA256()
        var count = 0
        var head = previous
        var exported: (Int64, Int64)?
        if let first, let last, first <= last {
            exported = (first, last)
            var cursor = first - 1
            while cursor < last {
                let entries = try await database.read { [cursor] sql in
                    try await sql.select().columns(AuditChain.columns.map { SQLColumn($0) }).from("audit_log")
                        .where("seq", .greaterThan, SQLBind(cursor)).where("seq", .lessThanOrEqual, SQLBind(last))
                        .orderBy("seq").limit(Self.page).all().map(AuditChain.Entry.init(row:))
                }
                guard !entries.isEmpty else { break }
                for entry in entries {
                    let line = try JSONText.encode(entry) + "\n"
                    hash.update(data: Data(line.utf8))
                    try await emit(line)
                    count += 1
                    head = entry.mac ?? ""
                    cursor = entry.seq
                }
            }
        }
        var manifest = Manifest(since: from, until: to, firstSeq: exported?.0, lastSeq: exported?.1, count: count, previousMAC: previous, chainHead: head,
                                sha256: hash.finalize().map { String(format: "%02x", $0) }.joined(), exportedAt: Timestamp.string(from: change.time),
                                keyID: keys.current.id, hmac: "")
        manifest.hmac = keys.sign(try manifest.signedText).mac
        try await emit(try JSONText.encode(ManifestLine(manifest: manifest)) + "\n")
        var changes: [String: FieldChange] = [
            "count": FieldChange(before: nil, after: .number(Double(manifest.count))),
            "manifest_hmac": FieldChange(before: nil, after: .string(manifest.hmac)),
        ]
        if let first = manifest.firstSeq, let last = manifest.lastSeq {
            changes["first_seq"] = FieldChange(before: nil, after: .number(Double(first)))
            changes["last_seq"] = FieldChange(before: nil, after: .number(Double(last)))
        }
        try await database.transaction { [changes] sql in
            try await AuditLog.record(action: "audit.exported", targetKind: "system", targetID: "audit_log", changes: changes, context: change, in: sql)
        }
        return manifest
    }

    /// The command line's form: into a new file (mode 0600), audited as `cli`.
    public func write(since: Date?, until: Date?, to path: String, at time: Date) async throws -> Manifest {
        guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]),
              let handle = FileHandle(forWritingAtPath: path) else {
            throw AppError(.conflict, field: "out", problem: "cannot be created")
        }
        defer { try? handle.close() }
        return try await write(since: since, until: until, by: ChangeContext(commandLineAt: time)) { line in try handle.write(contentsOf: Data(line.utf8)) }
    }

    /// What is wrong with an export (empty when it verifies): its manifest's signature, the
    /// SHA-256 of its lines, any entry's MAC or number.
    public static func verify(_ data: Data, keys: KeyRing) -> [String] {
        let text = String(decoding: data, as: UTF8.self)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        guard let last = lines.popLast(), let manifest = try? JSONDecoder().decode(ManifestLine.self, from: Data(last.utf8)).manifest else {
            return ["the last line is not a manifest"]
        }
        var problems: [String] = []
        if let signed = try? manifest.signedText, !keys.verify(signed, keyID: manifest.keyID, mac: manifest.hmac) {
            problems.append("the manifest's signature does not hold (changed, or signed with another key)")
        }
        var hash = SHA256()
        for line in lines { hash.update(data: Data((line + "\n").utf8)) }
        if hash.finalize().map({ String(format: "%02x", $0) }).joined() != manifest.sha256 {
            problems.append("the entry lines differ from those the manifest names (SHA-256)")
        }
        var previous = manifest.previousMAC
        var expected = manifest.firstSeq
        for (index, line) in lines.enumerated() {
            guard let entry = try? JSONDecoder().decode(AuditChain.Entry.self, from: Data(line.utf8)) else {
                problems.append("line \(index + 1) is not an audit entry")
                break
            }
            if let number = expected, entry.seq != number {
                problems.append("line \(index + 1): entry \(entry.seq) where \(number) was expected (removed, inserted or reordered)")
                break
            }
            if !AuditChain.holds(entry, after: previous, keys: keys) {
                problems.append("line \(index + 1): entry \(entry.seq) does not hold its signature (changed)")
                break
            }
            previous = entry.mac ?? ""
            expected = entry.seq + 1
        }
        if problems.isEmpty {
            if lines.count != manifest.count { problems.append("\(lines.count) entries where the manifest names \(manifest.count)") }
            if previous != manifest.chainHead { problems.append("the chain head differs from the manifest's") }
        }
        return problems
    }
}
