import Hummingbird
import ZakOpsCore
import ZakOpsHTTP

/// Answers 401 to a request whose credential authentication refused, whatever the route. It runs
/// after the rate limiter, so that guessing API keys counts against the guesser's address.
struct RefusedCredentialMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if context.credentialRefused { throw AppError(.unauthorized) }
        return try await next(request, context)
    }
}
