import Hummingbird
import HTTPTypes
import Logging
import ZakOpsCore

/// Turns every error into the fixed JSON error body. Nothing a client sees is derived from an
/// error's text: the code picks the message, details go to the log (redacted there).
public struct ErrorSanitizerMiddleware: RouterMiddleware {
    public typealias Context = AppRequestContext

    let allowedMethods: AllowedMethods

    public init(allowedMethods: AllowedMethods) {
        self.allowedMethods = allowedMethods
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            if let response = optionsResponse(request, error, context: context) { return response }
            let appError = map(error, request: request, context: context)
            log(error, as: appError, context: context)
            return ErrorBody.response(for: appError, requestID: context.requestID)
        }
    }

    /// `OPTIONS` on a known path answers 204 with `Allow` (CORS preflight is answered earlier).
    private func optionsResponse(_ request: Request, _ error: any Error, context: Context) -> Response? {
        guard request.method == .options, isUnrouted(error, context: context) else { return nil }
        let methods = allowedMethods.methods(for: request.uri.path)
        guard !methods.isEmpty else { return nil }
        return Response(status: .noContent, headers: [.allow: methods.joined(separator: ", ")])
    }

    /// Whether the router found no route for the request (as opposed to a handler's "not found").
    private func isUnrouted(_ error: any Error, context: Context) -> Bool {
        guard let error = error as? AppError, error.code == .notFound else { return false }
        return context.endpointPath == nil || context.endpointPath == "NotFound"
    }

    func map(_ error: any Error, request: Request, context: Context) -> AppError {
        if isUnrouted(error, context: context) {
            let methods = allowedMethods.methods(for: request.uri.path)
            if !methods.isEmpty {
                return AppError(.methodNotAllowed, headers: ["Allow": methods.joined(separator: ", ")])
            }
        }
        switch error {
        case let error as AppError: return error
        case let error as any AppErrorConvertible: return error.appError
        case let error as HTTPError: return AppError(httpError: error)
        default: return AppError(.internalError)
        }
    }

    private func log(_ error: any Error, as appError: AppError, context: Context) {
        var metadata: Logger.Metadata = [
            "error_code": .string(appError.code.rawValue),
            "error_type": .string(String(describing: type(of: error))),
        ]
        if let detail = appError.logDetail { metadata["error_detail"] = .string(detail) }
        if let field = appError.field { metadata["field"] = .string(field) }
        // A lockdown's 503 is the administrators' decision, logged once by the lockdown as a
        // security event: not a failure to page anyone about.
        if appError.code.status >= 500 && appError.code != .lockdown {
            // `description` only, never the reflection: drivers keep row values and server
            // detail there (PSQLError's description is generic on purpose).
            metadata["error"] = .string(String(describing: error))
            context.logger.error("request failed", metadata: metadata)
        } else {
            context.logger.info("request refused", metadata: metadata)
        }
    }
}
