import Foundation
import SQLKit
import ZakOpsCore
import ZakOpsStore

/// When each secret last changed, for the checklist's "secrets rotated regularly".
///
/// The server cannot see when someone replaced `SESSION_SECRET_FILE` or `DATA_ENCRYPTION_KEY`,
/// so every start records the id of each key in use (`secret_seen.<NAME>` in `settings`, the
/// key id and the time it was first seen): a new id is a rotation. Webhook secrets carry their
/// own date (`secret_rotated_at`, else creation). Preflight warns past `SECRET_MAX_AGE_DAYS`.
public enum SecretAges {
    /// The ids of the keys these settings use, by setting name.
    static func keyIDs(_ settings: Settings) throws -> [String: String] {
        var ids: [String: String] = [:]
        if let secret = settings.sessionSecret { ids["SESSION_SECRET"] = KeyRing(current: secret).current.id }
        if settings.dataEncryptionKey != nil { ids["DATA_ENCRYPTION_KEY"] = try settings.dataKeyRing().current.id }
        return ids
    }

    private static func row(_ name: String) -> String { "secret_seen." + name }

    /// Records the keys in use now (a new id is dated `now`). Run by `zakops serve` at start and
    /// by `zakops secrets rotate`.
    public static func observe(_ settings: Settings, database: Database, now: Date = Date()) async throws {
        let ids = try keyIDs(settings)
        try await database.transaction { sql in
            for (name, id) in ids {
                let stored = try await sql.select().column("value").from("settings").where("key", .equal, SQLBind(row(name))).first()?
                    .decode(column: "value", as: String.self)
                guard stored?.split(separator: " ").first.map(String.init) != id else { continue }
                let stamp = Timestamp.string(from: now)
                try await sql.insert(into: "settings").columns("key", "value", "updated_at", "updated_by")
                    .values(SQLBind(row(name)), SQLBind("\(id) \(stamp)"), SQLBind(stamp), SQLBind("system"))
                    .onConflict(with: ["key"]) { $0.set("value", to: SQLBind("\(id) \(stamp)")).set("updated_at", to: SQLBind(stamp)) }
                    .run()
            }
        }
    }

    /// When each secret last changed: the keys as recorded (a key not yet recorded is new: now),
    /// and the oldest active webhook secret. Read only (preflight runs it).
    public static func read(_ settings: Settings, database: Database, now: Date = Date()) async throws -> [String: Date] {
        let ids = try keyIDs(settings)
        return try await database.read { sql in
            var ages: [String: Date] = [:]
            for (name, id) in ids {
                let stored = try await sql.select().column("value").from("settings").where("key", .equal, SQLBind(row(name))).first()?
                    .decode(column: "value", as: String.self)
                let parts = stored?.split(separator: " ").map(String.init) ?? []
                ages[name] = parts.count == 2 && parts[0] == id ? Timestamp.date(from: parts[1]) ?? now : now
            }
            let dates = try await sql.select().columns("created_at", "secret_rotated_at").from("webhooks").where("is_active", .equal, SQLBind(true)).all()
                .compactMap { row in Timestamp.date(from: try row.decode(column: "secret_rotated_at", as: String?.self) ?? row.decode(column: "created_at", as: String.self)) }
            if let oldest = dates.min() { ages["webhook secrets"] = oldest }
            return ages
        }
    }
}
