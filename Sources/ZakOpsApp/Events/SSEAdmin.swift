import Foundation
import Synchronization
import ZakOpsStore
import ZakOpsCore

/// Degraded mode from the command line (`zakops sse degraded on|off`): the same switch as
/// `POST /api/admin/sse/degraded`, read by every instance's feed within a second. Connection
/// counts and shedding are per instance: they are the admin endpoints'.
public enum SSEAdmin {
    public static func setDegraded(_ on: Bool, database: Database, at time: Date) async throws {
        let change = ChangeContext(commandLineAt: time)
        try await database.transaction { sql in
            try await RuntimeSwitches.set(.sseDegraded, on: on, by: change, in: sql)
            try await AuditLog.record(action: on ? "sse.degraded_on" : "sse.degraded_off", targetKind: "system", targetID: "sse",
                                      changes: ["degraded": FieldChange(before: nil, after: .bool(on))], context: change, in: sql)
        }
    }

    public static func isDegraded(database: Database) async throws -> Bool {
        try await RuntimeSwitches(database: database).isOn(.sseDegraded)
    }
}
