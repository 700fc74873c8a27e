import Foundation
import SQLKit
import ZakOpsCore
import ZakOpsStore

/// The SQL of monitoring: instances' reports (`metric_snapshots`) and alert states (`alert_states`).
enum AlertRepository {
    static func writeReport(_ report: InstanceReport, in database: Database) async throws {
        let body = try JSONText.encode(report.values.filter { $0.value.isFinite })
        let sampled = Timestamp.string(from: report.sampledAt)
        let started = Timestamp.string(from: report.startedAt)
        try await database.autocommit { sql in
            try await sql.insert(into: "metric_snapshots").columns("instance_id", "started_at", "sampled_at", "body")
                .values(SQLBind(report.instanceID), SQLBind(started), SQLBind(sampled), SQLBind(body))
                // A process restarted in its place takes the row over, its start with it (a new series).
                .onConflict(with: ["instance_id"]) { $0.set("started_at", to: SQLBind(started)).set("sampled_at", to: SQLBind(sampled)).set("body", to: SQLBind(body)) }
                .run()
        }
    }

    static func removeReport(instanceID: String, in database: Database) async throws {
        try await database.autocommit { sql in
            try await sql.delete(from: "metric_snapshots").where("instance_id", .equal, SQLBind(instanceID)).run()
        }
    }

    /// Every instance's latest report; rows older than `forgetBefore` (instances that died long
    /// ago) are removed first.
    static func reports(forgetBefore: Date, in database: Database) async throws -> [InstanceReport] {
        try await database.autocommit { sql in
            try await sql.delete(from: "metric_snapshots").where("sampled_at", .lessThan, SQLBind(Timestamp.string(from: forgetBefore))).run()
        }
        return try await database.read { sql in
            try await sql.select().columns("instance_id", "started_at", "sampled_at", "body").from("metric_snapshots").all().compactMap { row in
                guard let started = Timestamp.date(from: try row.decode(column: "started_at", as: String.self)),
                      let sampled = Timestamp.date(from: try row.decode(column: "sampled_at", as: String.self)),
                      let values = try? JSONDecoder().decode([String: Double].self, from: Data(try row.decode(column: "body", as: String.self).utf8))
                else { return nil }
                return InstanceReport(instanceID: try row.decode(column: "instance_id", as: String.self), startedAt: started, sampledAt: sampled, values: values)
            }
        }
    }

    static func states(in sql: any SQLDatabase) async throws -> [String: AlertStatus] {
        try await sql.select().columns("name", "state", "value", "active_since", "fired_at", "resolved_at", "evaluated_at").from("alert_states")
            .all().reduce(into: [:]) { states, row in
                let name = try row.decode(column: "name", as: String.self)
                states[name] = AlertStatus(
                    name: name, state: AlertStatus.State(rawValue: try row.decode(column: "state", as: String.self)) ?? .inactive,
                    value: try row.decode(column: "value", as: String?.self).flatMap(Double.init),
                    activeSince: try row.decode(column: "active_since", as: String?.self), firedAt: try row.decode(column: "fired_at", as: String?.self),
                    resolvedAt: try row.decode(column: "resolved_at", as: String?.self), evaluatedAt: try row.decode(column: "evaluated_at", as: String?.self))
            }
    }

    static func save(_ status: AlertStatus, in sql: any SQLDatabase) async throws {
        let value = status.value.map { $0.isFinite ? String($0) : nil } ?? nil
        let evaluated = status.evaluatedAt ?? Timestamp.now()
        try await sql.insert(into: "alert_states")
            .columns("name", "state", "value", "active_since", "fired_at", "resolved_at", "evaluated_at")
            .values(SQLBind(status.name), SQLBind(status.state.rawValue), SQLBind(value), SQLBind(status.activeSince), SQLBind(status.firedAt),
                    SQLBind(status.resolvedAt), SQLBind(evaluated))
            .onConflict(with: ["name"]) { update in
                update.set("state", to: SQLBind(status.state.rawValue)).set("value", to: SQLBind(value))
                    .set("active_since", to: SQLBind(status.activeSince)).set("fired_at", to: SQLBind(status.firedAt))
                    .set("resolved_at", to: SQLBind(status.resolvedAt)).set("evaluated_at", to: SQLBind(evaluated))
            }
            .run()
    }
}
