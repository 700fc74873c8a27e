import HTTPTypes
import Hummingbird
import Logging
import Metrics
import Synchronization
import ZakOpsCore
import ZakOpsHTTP

/// What a route requires. Every `/api` route declares one where it is registered.
public enum RouteAccess: Sendable, Equatable {
    /// Login, registration and password reset: no principal needed.
    case publicAuth
    /// Any principal. `allowedWhileResetPending` lets an operator who must change the password
    /// through (`me`, `logout`, `password/change`).
    case authenticated(allowedWhileResetPending: Bool)
    /// A principal holding the permission.
    case permission(Permission)
}

/// The access each registered route declared, for the test that walks the router.
public final class AccessRegistry: Sendable {
    private let entries = Mutex<[String: RouteAccess]>([:])

    public init() {}

    func record(_ method: HTTPRequest.Method, _ path: String, _ access: RouteAccess) {
        entries.withLock { $0[Self.key(method, path)] = access }
    }

    /// The access declared for a route, nil if it declared none.
    public func access(_ method: HTTPRequest.Method, _ path: String) -> RouteAccess? {
        entries.withLock { $0[Self.key(method, path)] }
    }

    private static func key(_ method: HTTPRequest.Method, _ path: String) -> String {
        "\(method.rawValue) /" + path.drop(while: { $0 == "/" })
    }
}

/// Registers routes together with their access rule, enforced before the handler runs.
struct SecuredRoutes {
    let router: Router<AppRequestContext>
    let registry: AccessRegistry

    func on<Output: ResponseGenerator>(
        _ path: String, method: HTTPRequest.Method, _ access: RouteAccess,
        use handler: @escaping @Sendable (Request, AppRequestContext) async throws -> Output
    ) {
        registry.record(method, path, access)
        router.on(RouterPath(path), method: method) { request, context in
            try Self.authorize(access, context: context)
            return try await handler(request, context)
        }
    }

    func get<Output: ResponseGenerator>(_ path: String, _ access: RouteAccess, use handler: @escaping @Sendable (Request, AppRequestContext) async throws -> Output) {
        on(path, method: .get, access, use: handler)
    }

    func post<Output: ResponseGenerator>(_ path: String, _ access: RouteAccess, use handler: @escaping @Sendable (Request, AppRequestContext) async throws -> Output) {
        on(path, method: .post, access, use: handler)
    }

    func delete<Output: ResponseGenerator>(_ path: String, _ access: RouteAccess, use handler: @escaping @Sendable (Request, AppRequestContext) async throws -> Output) {
        on(path, method: .delete, access, use: handler)
    }

    static func authorize(_ access: RouteAccess, context: AppRequestContext) throws {
        if access == .publicAuth { return }
        guard let principal = context.principal else {
            throw AppError(.unauthorized)
        }
        if principal.mustResetPassword && access != .authenticated(allowedWhileResetPending: true) {
            throw AppError(.passwordResetRequired)
        }
        if case .permission(let permission) = access, !principal.can(permission) {
            Counter(label: "zakops_permission_denied_total", dimensions: [("permission", permission.rawValue)]).increment()
            context.logger.warning("security event", metadata: [
                "event": "permission_denied", "principal_id": .string(principal.id), "permission": .string(permission.rawValue),
            ])
            throw AppError(.forbidden)
        }
    }
}
