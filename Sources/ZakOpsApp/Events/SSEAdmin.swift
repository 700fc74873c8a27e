import Foundation
import ZakOpsStore
import ZakOpsCore

/// The event stream's overload playbook, behind both `POST /api/admin/sse/*` and `zakops sse`:
/// degraded mode is a switch every instance's feed reads within a second; shedding is per
/// instance (only an endpoint can reach this instance's hub). Each step is audited.
public struct SSEAdmin: Sendable {
    let database: Database

    public init(database: Database) {
        self.database = database
    }

    /// Turns degraded mode on or off for every instance.
    func setDegraded(_ on: Bool, by change: ChangeContext) async throws {
        try await database.transaction { sql in
            try await RuntimeSwitches.set(.sseDegraded, on: on, by: change, in: sql)
            try await AuditLog.record(action: on ? "sse.degraded_on" : "sse.degraded_off", targetKind: "system", targetID: "sse",
                                      changes: ["degraded": FieldChange(before: nil, after: .bool(on))], context: change, in: sql)
        }
    }

    /// The command line's form: audited as `cli`.
    public func setDegraded(_ on: Bool, at time: Date) async throws {
        try await setDegraded(on, by: ChangeContext(commandLineAt: time))
    }

    public func isDegraded() async throws -> Bool {
        try await RuntimeSwitches(database: database).isOn(.sseDegraded)
    }

    /// Sheds `count` streams of this instance's hub (all when nil), oldest first; returns how many.
    func shed(_ count: Int?, from hub: EventHub, by change: ChangeContext) async throws -> Int {
        let shed = hub.shed(count: count, reason: "shed")
        try await database.transaction { sql in
            try await AuditLog.record(action: "sse.shed", targetKind: "system", targetID: "sse",
                                      changes: ["count": FieldChange(before: nil, after: .number(Double(shed)))], context: change, in: sql)
        }
        return shed
    }
}
