import Foundation
import SQLKit
import ZakOpsCore
import ZakOpsStore

/// Switches every instance reads from the `settings` table (outbox paused, SSE degraded mode,
/// lockdown): flipped by an admin or a command, they survive restarts and reach every instance
/// within one poll.
enum RuntimeSwitch: String, Sendable, CaseIterable {
    case outboxPaused = "outbox.paused"
    case sseDegraded = "sse.degraded"
    /// The data-breach playbook's containment (`zakops incident lockdown`).
    case lockdown = "incident.lockdown"
}

struct RuntimeSwitches: Sendable {
    let database: Database

    func isOn(_ name: RuntimeSwitch) async throws -> Bool {
        try await database.read { sql in
            try await sql.select().column("value").from("settings").where("key", .equal, SQLBind(name.rawValue)).first()?
                .decode(column: "value", as: String.self) == "on"
        }
    }

    /// The switch as the caller's transaction sees it, its row locked until commit (PostgreSQL).
    static func isOn(_ name: RuntimeSwitch, in sql: any SQLDatabase) async throws -> Bool {
        try await sql.select().column("value").from("settings").where("key", .equal, SQLBind(name.rawValue)).for(.update).first()?
            .decode(column: "value", as: String.self) == "on"
    }

    /// Every switch and the key generation, in one read (what `RuntimeState` polls).
    func snapshot() async throws -> (on: Set<RuntimeSwitch>, keyGeneration: Int) {
        let keys = RuntimeSwitch.allCases.map(\.rawValue) + [Self.keyGenerationKey]
        let rows = try await database.read { sql in
            try await sql.select().columns("key", "value").from("settings").where("key", .in, keys).all().map {
                (try $0.decode(column: "key", as: String.self), try $0.decode(column: "value", as: String.self))
            }
        }
        var on = Set<RuntimeSwitch>()
        var generation = 0
        for (key, value) in rows {
            if key == Self.keyGenerationKey {
                generation = Int(value) ?? 0
            } else if value == "on", let name = RuntimeSwitch(rawValue: key) {
                on.insert(name)
            }
        }
        return (on, generation)
    }

    /// The `settings` row of the signing keys' generation (see `KeyRing`).
    static let keyGenerationKey = "auth.key_generation"

    /// Raises the key generation by one inside the caller's transaction; returns the new one.
    static func raiseKeyGeneration(by context: ChangeContext, in sql: any SQLDatabase) async throws -> Int {
        let current = try await sql.select().column("value").from("settings").where("key", .equal, SQLBind(keyGenerationKey))
            .for(.update).first()?.decode(column: "value", as: String.self)
        let next = (current.flatMap { Int($0) } ?? 0) + 1
        try await write(key: keyGenerationKey, value: String(next), by: context, in: sql)
        return next
    }

    /// Sets the switch inside the caller's transaction (with the change's audit entry).
    static func set(_ name: RuntimeSwitch, on: Bool, by context: ChangeContext, in sql: any SQLDatabase) async throws {
        try await write(key: name.rawValue, value: on ? "on" : "off", by: context, in: sql)
    }

    private static func write(key: String, value: String, by context: ChangeContext, in sql: any SQLDatabase) async throws {
        let stamp = Timestamp.string(from: context.time)
        try await sql.insert(into: "settings").columns("key", "value", "updated_at", "updated_by")
            .values(SQLBind(key), SQLBind(value), SQLBind(stamp), SQLBind(context.actorID))
            .onConflict(with: ["key"]) { $0.set("value", to: SQLBind(value)).set("updated_at", to: SQLBind(stamp)).set("updated_by", to: SQLBind(context.actorID)) }
            .run()
        // Every instance's RuntimeState reads the switches again when this commits (PostgreSQL).
        try await NotificationListener.notify(RuntimeState.notice, in: sql)
    }
}
