import Foundation
import SQLKit
import ZakOpsCore
import ZakOpsStore

/// Switches every instance reads from the `settings` table (outbox paused, later SSE degraded
/// mode): flipped by an admin or a command, they survive restarts and reach every instance
/// within one poll.
enum RuntimeSwitch: String, Sendable {
    case outboxPaused = "outbox.paused"
    case sseDegraded = "sse.degraded"
}

struct RuntimeSwitches: Sendable {
    let database: Database

    func isOn(_ name: RuntimeSwitch) async throws -> Bool {
        try await database.read { sql in
            try await sql.select().column("value").from("settings").where("key", .equal, SQLBind(name.rawValue)).first()?
                .decode(column: "value", as: String.self) == "on"
        }
    }

    /// Sets the switch inside the caller's transaction (with the change's audit entry).
    static func set(_ name: RuntimeSwitch, on: Bool, by context: ChangeContext, in sql: any SQLDatabase) async throws {
        let value = on ? "on" : "off"
        let stamp = Timestamp.string(from: context.time)
        try await sql.insert(into: "settings").columns("key", "value", "updated_at", "updated_by")
            .values(SQLBind(name.rawValue), SQLBind(value), SQLBind(stamp), SQLBind(context.actorID))
            .onConflict(with: ["key"]) { $0.set("value", to: SQLBind(value)).set("updated_at", to: SQLBind(stamp)).set("updated_by", to: SQLBind(context.actorID)) }
            .run()
    }
}
