import Hummingbird

/// Adds `SecurityHeaders` to every response. It runs outside the error sanitizer, so errors,
/// 404s, 405s, 413s and redirects all pass through it as ordinary responses.
public struct SecurityHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    let headers: SecurityHeaders

    public init(_ headers: SecurityHeaders) {
        self.headers = headers
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        headers.apply(to: &response.headers)
        return response
    }
}
