import Foundation
import HTTPTypes
import Hummingbird
import ZakOpsCore
import ZakOpsHTTP

/// `/api/admin/incidents/*` and `/api/admin/audit/access` (`admin:system`): `IncidentService`
/// over HTTP. Every step takes `"dry_run": true` to see its counts without changing anything.
struct IncidentController: Sendable {
    let service: IncidentService
    let clock: any AppClock

    struct AuthBreachRequest: StrictDecodable {
        let revokeKeys: Bool?
        let since: String?
        let dryRun: Bool?
        enum CodingKeys: String, CodingKey {
            case since
            case revokeKeys = "revoke_keys"
            case dryRun = "dry_run"
        }
        static let knownFields = KnownFields(["revoke_keys", "since", "dry_run"])
    }

    struct RevokeSessionsRequest: StrictDecodable {
        let role: Role?
        let dryRun: Bool?
        enum CodingKeys: String, CodingKey {
            case role
            case dryRun = "dry_run"
        }
        static let knownFields = KnownFields(["role", "dry_run"])
    }

    struct DryRunRequest: StrictDecodable {
        let dryRun: Bool?
        enum CodingKeys: String, CodingKey { case dryRun = "dry_run" }
        static let knownFields = KnownFields(["dry_run"])
    }

    struct LockdownRequest: StrictDecodable {
        let on: Bool
        static let knownFields = KnownFields(["on"])
    }

    struct StoredReport: ResponseEncodable {
        let report: JSONValue
    }

    struct LockdownResponse: ResponseEncodable {
        let lockdown: Bool
    }

    /// How far back the access report looks when no `since` is given.
    static let defaultReportWindow: TimeInterval = 7 * 86_400

    func register(on routes: SecuredRoutes) {
        routes.post("/api/admin/incidents/auth-breach", .permission(.adminSystem)) { request, context in
            let input = try await request.decodeStrictJSON(as: AuthBreachRequest.self, context: context)
            let now = clock.now()
            let since = try input.since.map { try Self.time($0, field: "since") } ?? now.addingTimeInterval(-Self.defaultReportWindow)
            return try await service.authBreach(revokeKeys: input.revokeKeys ?? false, since: since, dryRun: input.dryRun ?? false,
                                                by: try change(context))
        }
        routes.post("/api/admin/incidents/revoke-sessions", .permission(.adminSystem)) { request, context in
            let input = try await request.decodeStrictJSON(as: RevokeSessionsRequest.self, context: context)
            return try await service.revokeAllSessions(role: input.role, dryRun: input.dryRun ?? false, by: try change(context))
        }
        routes.post("/api/admin/incidents/revoke-keys", .permission(.adminSystem)) { request, context in
            let input = try await request.decodeStrictJSON(as: DryRunRequest.self, context: context)
            return try await service.revokeAllKeys(dryRun: input.dryRun ?? false, by: try change(context))
        }
        routes.post("/api/admin/incidents/force-reset", .permission(.adminSystem)) { request, context in
            let input = try await request.decodeStrictJSON(as: DryRunRequest.self, context: context)
            return try await service.forceResetAll(dryRun: input.dryRun ?? false, by: try change(context))
        }
        routes.get("/api/admin/incidents/lockdown", .permission(.adminSystem)) { _, _ in
            LockdownResponse(lockdown: try await service.lockdownStatus())
        }
        routes.post("/api/admin/incidents/lockdown", .permission(.adminSystem)) { request, context in
            let input = try await request.decodeStrictJSON(as: LockdownRequest.self, context: context)
            return try await service.setLockdown(input.on, by: try change(context))
        }
        routes.get("/api/admin/audit/access/{id}", .permission(.adminSystem)) { _, context in
            StoredReport(report: try await service.storedReport(try ListQuery.pathID(context, prefix: "rpt_")))
        }
        routes.get("/api/admin/audit/access", .permission(.adminSystem)) { request, _ in
            let query = request.uri.queryParameters
            guard let sinceText = query["since"] else { throw AppError.validation(field: "since", problem: "is required") }
            let since = try Self.time(String(sinceText), field: "since")
            let until = try query["until"].map { try Self.time(String($0), field: "until") }
            let principal = try query["principal"].map { try QueryText.check(String($0), field: "principal", max: 60, shape: .filterName) }
            return try await service.accessReport(since: since, until: until, principal: principal, now: clock.now())
        }
    }

    private func change(_ context: AppRequestContext) throws -> ChangeContext {
        ChangeContext(principal: try context.requirePrincipal(), request: context, time: clock.now())
    }

    static func time(_ text: String, field: String) throws -> Date {
        guard let date = Timestamp.date(from: text) else {
            throw AppError.validation(field: field, problem: "must be a UTC time such as 2026-01-31T12:00:00.000Z")
        }
        return date
    }
}

extension IncidentService.AuthBreachResult: ResponseEncodable {}
extension IncidentService.CountResult: ResponseEncodable {}
extension IncidentService.LockdownStatus: ResponseEncodable {}
extension AccessReport: ResponseEncodable {}
