import Foundation
import SQLKit
import ZakOpsCore
import ZakOpsStore

/// Walks the audit chain (`zakops audit verify`, `GET /api/admin/audit/verify`) and names the
/// first entry that was changed, removed, inserted or renumbered, or the checkpoint that does
/// not hold.
public struct AuditVerifier: Sendable {
    let database: Database
    let keys: KeyRing

    public init(database: Database, keys: KeyRing) {
        self.database = database
        self.keys = keys
    }

    public enum Problem: String, Sendable, Codable {
        case changed, removed, inserted, reordered
        /// A checkpoint's signature does not hold.
        case checkpoint
        /// Signed with a key that is not configured (`AUDIT_HMAC_KEY_PREVIOUS` would open it).
        case unverifiable
    }

    public struct Finding: Sendable, Codable, Equatable {
        public let kind: Problem
        public let seq: Int64
        public let id: String?
        public let detail: String
    }

    public struct Report: Sendable, Codable {
        public let ok: Bool
        public let checked: Int
        /// Entries written before entries were signed (not verified).
        public let unsigned: Int
        public let chainStart: Int64
        public let checkpoint: AuditChain.Checkpoint?
        public let headSeq: Int64
        public let headMAC: String
        public let problem: Finding?
        enum CodingKeys: String, CodingKey {
            case ok, checked, unsigned, checkpoint, problem
            case chainStart = "chain_start"
            case headSeq = "head_seq"
            case headMAC = "head_mac"
        }
    }

    static let page = 500

    public func verify() async throws -> Report {
        try await database.read { [keys] sql in try await Self.verify(keys: keys, in: sql) }
    }

    static func verify(keys: KeyRing, in sql: any SQLDatabase) async throws -> Report {
        let chainStart = try await AuditChain.chainStart(in: sql)
        let checkpoints = try await AuditChain.checkpoints(in: sql)
        var previousCheckpoint = ""
        for checkpoint in checkpoints {
            let message = AuditChain.checkpointMessage(seq: checkpoint.seq, headMAC: checkpoint.headMAC, purged: checkpoint.purged,
                                                       createdAt: checkpoint.createdAt, previous: previousCheckpoint)
            guard keys.verify(message, keyID: checkpoint.macKey, mac: checkpoint.mac) else {
                return report(ok: false, checked: 0, unsigned: 0, chainStart: chainStart, checkpoint: checkpoint, head: (checkpoint.seq, checkpoint.headMAC),
                              problem: Finding(kind: .checkpoint, seq: checkpoint.seq, id: nil, detail: "the checkpoint's signature does not hold"))
            }
            previousCheckpoint = checkpoint.mac
        }
        let latest = checkpoints.last
        var lastSeq = max(chainStart - 1, latest?.seq ?? 0)
        var previous = (latest.map { $0.seq >= chainStart - 1 } ?? false) ? latest!.headMAC : ""
        let unsigned = try await sql.select().column(SQLFunction("count", args: SQLLiteral.all), as: "n").from("audit_log")
            .where("seq", .lessThan, SQLBind(chainStart)).first()?.decode(column: "n", as: Int.self) ?? 0
        let counter = try await AuditChain.counter(in: sql)
        var checked = 0
        while true {
            let entries = try await sql.select().columns(AuditChain.columns.map { SQLColumn($0) }).from("audit_log")
                .where("seq", .greaterThan, SQLBind(lastSeq)).orderBy("seq").limit(page).all().map(AuditChain.Entry.init(row:))
            for entry in entries {
                if let finding = try await check(entry, expected: lastSeq + 1, previous: previous, counter: counter, keys: keys, in: sql) {
                    return report(ok: false, checked: checked, unsigned: unsigned, chainStart: chainStart, checkpoint: latest, head: (lastSeq, previous),
                                  problem: finding)
                }
                previous = entry.mac ?? ""
                lastSeq = entry.seq
                checked += 1
            }
            if entries.count < page { break }
        }
        if counter > lastSeq {
            return report(ok: false, checked: checked, unsigned: unsigned, chainStart: chainStart, checkpoint: latest, head: (lastSeq, previous),
                          problem: Finding(kind: .removed, seq: lastSeq + 1, id: nil,
                                           detail: "entries \(lastSeq + 1) to \(counter) were handed out and are missing (the end of the trail was removed)"))
        }
        return report(ok: true, checked: checked, unsigned: unsigned, chainStart: chainStart, checkpoint: latest, head: (lastSeq, previous), problem: nil)
    }

    /// What is wrong with `entry`, expected to be number `expected` and to chain from
    /// `previous`; nil when it holds.
    private static func check(_ entry: AuditChain.Entry, expected: Int64, previous: String, counter: Int64, keys: KeyRing,
                              in sql: any SQLDatabase) async throws -> Finding? {
        if entry.seq > expected {
            return Finding(kind: .removed, seq: expected, id: nil, detail: "entry \(expected) is missing (the next present is \(entry.seq))")
        }
        if AuditChain.holds(entry, after: previous, keys: keys) { return nil }
        guard let macKey = entry.macKey, entry.mac != nil else {
            return Finding(kind: .changed, seq: entry.seq, id: entry.id, detail: "the entry's signature was removed")
        }
        if keys.current.id != macKey && keys.previous?.id != macKey {
            return Finding(kind: .unverifiable, seq: entry.seq, id: entry.id,
                           detail: "signed with key \(macKey), which is not configured (set it as AUDIT_HMAC_KEY_PREVIOUS)")
        }
        if entry.seq > counter {
            return Finding(kind: .inserted, seq: entry.seq, id: entry.id, detail: "numbered beyond the audit counter (\(counter)): never handed out")
        }
        // Moved: the entry holds under another number nearby, after one of the entries nearby
        // (its old predecessor may have moved too, as in a swap).
        let window = try await sql.select().columns(AuditChain.columns.map { SQLColumn($0) }).from("audit_log")
            .where("seq", .greaterThanOrEqual, SQLBind(entry.seq - 50)).where("seq", .lessThanOrEqual, SQLBind(entry.seq + 50))
            .all().map(AuditChain.Entry.init(row:))
        let predecessors = Set(window.compactMap(\.mac) + [previous])
        for candidate in (entry.seq - 50)...(entry.seq + 50) where candidate > 0 && candidate != entry.seq {
            var moved = entry
            moved.seq = candidate
            if predecessors.contains(where: { AuditChain.holds(moved, after: $0, keys: keys) }) {
                return Finding(kind: .reordered, seq: entry.seq, id: entry.id, detail: "the entry was written as number \(candidate)")
            }
        }
        let next = try await sql.select().columns(AuditChain.columns.map { SQLColumn($0) }).from("audit_log")
            .where("seq", .equal, SQLBind(entry.seq + 1)).first().map(AuditChain.Entry.init(row:))
        if let next {
            // The next entry still chains from this one's MAC: this one's content changed.
            if AuditChain.holds(next, after: entry.mac ?? "", keys: keys) {
                return Finding(kind: .changed, seq: entry.seq, id: entry.id, detail: "the entry's content differs from what was signed")
            }
            // The next entry, one number down, chains from the previous: this one was put in between.
            var shifted = next
            shifted.seq = next.seq - 1
            if AuditChain.holds(shifted, after: previous, keys: keys) {
                return Finding(kind: .inserted, seq: entry.seq, id: entry.id, detail: "the entry was not in the chain (the ones after it were renumbered)")
            }
        }
        return Finding(kind: .changed, seq: entry.seq, id: entry.id, detail: "the entry's signature does not hold")
    }

    private static func report(ok: Bool, checked: Int, unsigned: Int, chainStart: Int64, checkpoint: AuditChain.Checkpoint?, head: (Int64, String),
                               problem: Finding?) -> Report {
        Report(ok: ok, checked: checked, unsigned: unsigned, chainStart: chainStart, checkpoint: checkpoint, headSeq: head.0, headMAC: head.1, problem: problem)
    }
}
