import Hummingbird
import ZakOpsCore

/// Hummingbird's router turns its own `HTTPError`s (no route, body too large, bad request)
/// into bare responses before outer middleware can see them. Installed as the router's first
/// middleware, this bridge turns them into `AppError`s, which the router passes on to the
/// error sanitizer like any other error.
public struct RouterErrorBridge<Context: RequestContext>: RouterMiddleware {
    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError {
            throw AppError(httpError: error)
        }
    }
}

extension AppError {
    /// The ZakOps error for a Hummingbird `HTTPError`, by status alone (its message is never used).
    public init(httpError: HTTPError) {
        switch httpError.status {
        case .notFound: self.init(.notFound)
        case .contentTooLarge: self.init(.payloadTooLarge)
        case .unsupportedMediaType: self.init(.unsupportedMediaType)
        case .methodNotAllowed: self.init(.methodNotAllowed)
        case .unauthorized: self.init(.unauthorized)
        case .forbidden: self.init(.forbidden)
        case .tooManyRequests: self.init(.rateLimited)
        case .badRequest: self.init(.validationError, logDetail: "HTTPError 400")
        case .serviceUnavailable: self.init(.serviceUnavailable)
        default: self.init(.internalError, logDetail: "HTTPError \(httpError.status.code)")
        }
    }
}
