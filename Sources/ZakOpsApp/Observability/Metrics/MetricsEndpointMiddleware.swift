import Hummingbird
import ZakOpsCore
import ZakOpsHTTP

/// `/metrics` on the public listener (`METRICS_ON_MAIN_PORT`, which the settings refuse
/// without `METRICS_TOKEN`): answered before rate limits and authentication, so the scrape's
/// bearer token is never taken for an API key, and refused with 401 without the token.
struct MetricsEndpointMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let token: Secret

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.uri.path == "/metrics", request.method == .get else { return try await next(request, context) }
        return MetricsListener.response(authorization: request.headers[.authorization], token: token.value)
    }
}
