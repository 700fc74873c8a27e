import Foundation
import SQLKit
import ZakOpsCore
import ZakOpsStore

/// The audit trail's hash chain: every entry's MAC covers its content (its number included) and
/// the MAC of the entry before it in commit order (the audit counter is gap-free), under a key
/// named in the entry. Changing, removing, inserting or renumbering an entry breaks the chain
/// at that entry; without the key nobody can mend it. Purging the oldest entries leaves a signed
/// checkpoint that carries the chain head on.
public enum AuditChain {
    /// One stored entry, as the chain sees it.
    public struct Entry: Sendable, Codable, Equatable {
        public var seq: Int64
        public let id: String
        public let occurredAt: String
        public let actorID: String
        public let actorKind: String
        public let action: String
        public let targetKind: String
        public let targetID: String
        /// The stored JSON text, byte for byte (the MAC covers this text).
        public let changes: String
        public let requestID: String?
        public let clientIP: String?
        public let mac: String?
        public let macKey: String?
        enum CodingKeys: String, CodingKey {
            case seq, id, action, changes, mac
            case occurredAt = "occurred_at"
            case actorID = "actor_id"
            case actorKind = "actor_kind"
            case targetKind = "target_kind"
            case targetID = "target_id"
            case requestID = "request_id"
            case clientIP = "client_ip"
            case macKey = "mac_key"
        }

        init(seq: Int64, id: String, occurredAt: String, actorID: String, actorKind: String, action: String, targetKind: String, targetID: String,
             changes: String, requestID: String?, clientIP: String?, mac: String? = nil, macKey: String? = nil) {
            self.seq = seq; self.id = id; self.occurredAt = occurredAt; self.actorID = actorID; self.actorKind = actorKind; self.action = action
            self.targetKind = targetKind; self.targetID = targetID; self.changes = changes; self.requestID = requestID; self.clientIP = clientIP
            self.mac = mac; self.macKey = macKey
        }

        init(row: any SQLRow) throws {
            self.init(seq: try row.decode(column: "seq", as: Int64.self), id: try row.decode(column: "id", as: String.self),
                      occurredAt: try row.decode(column: "occurred_at", as: String.self), actorID: try row.decode(column: "actor_id", as: String.self),
                      actorKind: try row.decode(column: "actor_kind", as: String.self), action: try row.decode(column: "action", as: String.self),
                      targetKind: try row.decode(column: "target_kind", as: String.self), targetID: try row.decode(column: "target_id", as: String.self),
                      changes: try row.decode(column: "changes", as: String.self), requestID: try row.decode(column: "request_id", as: String?.self),
                      clientIP: try row.decode(column: "client_ip", as: String?.self), mac: try row.decode(column: "mac", as: String?.self),
                      macKey: try row.decode(column: "mac_key", as: String?.self))
        }
    }

    static let columns = ["seq", "id", "occurred_at", "actor_id", "actor_kind", "action", "target_kind", "target_id", "changes", "request_id",
                          "client_ip", "mac", "mac_key"]

    /// The text an entry's MAC covers, after the previous entry's MAC. Fields are separated by
    /// control characters that no field can hold unescaped (JSON escapes them; the others are
    /// validated text), and an absent value differs from an empty one.
    static func message(previous: String, _ entry: Entry) -> String {
        let fields = [String(entry.seq), entry.id, entry.occurredAt, entry.actorID, entry.actorKind, entry.action, entry.targetKind, entry.targetID,
                      entry.changes, entry.requestID.map { "=" + $0 } ?? "-", entry.clientIP.map { "=" + $0 } ?? "-"]
        return "audit-v1\u{1E}" + previous + "\u{1E}" + fields.joined(separator: "\u{1F}")
    }

    /// Whether `entry` carries a valid MAC after `previous` under `keys`.
    static func holds(_ entry: Entry, after previous: String, keys: KeyRing) -> Bool {
        guard let mac = entry.mac, let key = entry.macKey else { return false }
        return keys.verify(message(previous: previous, entry), keyID: key, mac: mac)
    }

    /// The MAC the entry numbered `seq` chains from: the entry before it, or the checkpoint that
    /// replaced it, or nothing (the first entry of the chain; entries before it are unsigned).
    static func previousMAC(before seq: Int64, in sql: any SQLDatabase) async throws -> String {
        if let row = try await sql.select().column("mac").from("audit_log").where("seq", .equal, SQLBind(seq - 1)).first() {
            return try row.decode(column: "mac", as: String?.self) ?? ""
        }
        return try await sql.select().column("head_mac").from("audit_checkpoints").where("seq", .equal, SQLBind(seq - 1)).first()?
            .decode(column: "head_mac", as: String.self) ?? ""
    }

    // MARK: - Checkpoints

    public struct Checkpoint: Sendable, Codable, Equatable {
        public let seq: Int64
        public let headMAC: String
        public let purged: Int
        public let createdAt: String
        public let mac: String
        public let macKey: String
        enum CodingKeys: String, CodingKey {
            case seq, purged, mac
            case headMAC = "head_mac"
            case createdAt = "created_at"
            case macKey = "mac_key"
        }
    }

    static func checkpointMessage(seq: Int64, headMAC: String, purged: Int, createdAt: String, previous: String) -> String {
        "audit-checkpoint-v1\u{1E}" + previous + "\u{1E}" + [String(seq), headMAC, String(purged), createdAt].joined(separator: "\u{1F}")
    }

    static func checkpoints(in sql: any SQLDatabase) async throws -> [Checkpoint] {
        try await sql.select().columns("seq", "head_mac", "purged", "created_at", "mac", "mac_key").from("audit_checkpoints").orderBy("seq").all().map { row in
            Checkpoint(seq: try row.decode(column: "seq", as: Int64.self), headMAC: try row.decode(column: "head_mac", as: String.self),
                       purged: try row.decode(column: "purged", as: Int.self), createdAt: try row.decode(column: "created_at", as: String.self),
                       mac: try row.decode(column: "mac", as: String.self), macKey: try row.decode(column: "mac_key", as: String.self))
        }
    }

    /// Purges the entries numbered up to `seq` (the oldest), leaving a signed checkpoint that
    /// carries the chain on, in the caller's transaction. The database refuses to delete any
    /// entry a checkpoint does not cover, so the checkpoint is written first. Returns how many
    /// entries were purged.
    static func purge(through seq: Int64, at time: Date, keys: KeyRing, in sql: any SQLDatabase) async throws -> Int {
        let existing = try await checkpoints(in: sql)
        let from = existing.last?.seq ?? 0
        guard seq > from else { return 0 }
        let count = try await sql.select().column(SQLFunction("count", args: SQLLiteral.all), as: "n").from("audit_log")
            .where("seq", .lessThanOrEqual, SQLBind(seq)).first()?.decode(column: "n", as: Int.self) ?? 0
        guard count > 0 else { return 0 }
        let head = try await previousMAC(before: seq + 1, in: sql)
        let stamp = Timestamp.string(from: time)
        let (keyID, mac) = keys.sign(checkpointMessage(seq: seq, headMAC: head, purged: count, createdAt: stamp, previous: existing.last?.mac ?? ""))
        try await sql.insert(into: "audit_checkpoints").columns("seq", "head_mac", "purged", "created_at", "mac", "mac_key")
            .values(SQLBind(seq), SQLBind(head), SQLBind(count), SQLBind(stamp), SQLBind(mac), SQLBind(keyID)).run()
        try await sql.delete(from: "audit_log").where("seq", .lessThanOrEqual, SQLBind(seq)).run()
        return count
    }

    /// The first number of the chain: entries before it were written before entries were signed.
    static func chainStart(in sql: any SQLDatabase) async throws -> Int64 {
        let text = try await sql.select().column("value").from("settings").where("key", .equal, SQLBind("audit.chain_start")).first()?
            .decode(column: "value", as: String.self)
        return text.flatMap { Int64($0) } ?? 1
    }

    /// The last number the audit counter handed out.
    static func counter(in sql: any SQLDatabase) async throws -> Int64 {
        try await sql.select().column("audit_value").from("event_sequence").where("id", .equal, SQLBind(1)).first()?
            .decode(column: "audit_value", as: Int64.self) ?? 0
    }
}
