import Foundation
import HTTPTypes
import Hummingbird

/// Cross-origin access for the exact origins of `CORS_ORIGINS` and nobody else.
///
/// - A listed `Origin` gets `Access-Control-Allow-Origin` with that origin and
///   `Access-Control-Allow-Credentials: true`; any other origin (`null` included) gets no CORS
///   header at all, so the browser keeps the response from the page. Never `*`, never a
///   reflection of an unlisted origin.
/// - `Vary: Origin` is on every response, so no cache serves one origin's answer to another.
/// - A preflight (`OPTIONS` with `Access-Control-Request-Method`) from a listed origin is
///   answered here with the path's real methods, the headers ZakOps reads and a bounded max-age.
///
/// It sits outside the error sanitizer, so a listed origin can read error bodies (429, 401) too.
/// Unsafe requests from unlisted origins are refused later by the CSRF middleware's Origin check.
/// Named apart from Hummingbird's `CORSMiddleware`, which by default echoes any origin.
public struct AllowListCORSMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Request headers a browser page may send: what ZakOps reads.
    public static var allowedRequestHeaders: String { "Content-Type, X-CSRF-Token, Authorization, Idempotency-Key, Last-Event-ID" }
    /// Response headers a page may read besides the simple ones.
    public static var exposedResponseHeaders: String { "X-Request-ID, Retry-After, RateLimit, RateLimit-Policy" }
    /// How long a browser may cache a preflight answer (Chromium caps at 2 hours anyway).
    public static var preflightMaxAgeSeconds: Int { 600 }

    let origins: Set<String>
    let allowedMethods: AllowedMethods

    public init(origins: [String], allowedMethods: AllowedMethods) {
        self.origins = Set(origins)
        self.allowedMethods = allowedMethods
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let origin = request.headers[.origin].flatMap { origins.contains($0) ? $0 : nil }
        var response: Response
        if let origin, request.method == .options, request.headers[.accessControlRequestMethod] != nil,
           case let methods = allowedMethods.methods(for: request.uri.path), !methods.isEmpty {
            response = Response(status: .noContent, headers: [
                .accessControlAllowMethods: methods.joined(separator: ", "),
                .accessControlAllowHeaders: Self.allowedRequestHeaders,
                .accessControlMaxAge: String(Self.preflightMaxAgeSeconds),
            ])
            Self.allow(origin, on: &response.headers)
        } else {
            response = try await next(request, context)
            if let origin {
                Self.allow(origin, on: &response.headers)
                response.headers[.accessControlExposeHeaders] = Self.exposedResponseHeaders
            } else {
                // A handler never sets these, but make sure an unlisted origin sees none.
                response.headers[.accessControlAllowOrigin] = nil
                response.headers[.accessControlAllowCredentials] = nil
            }
        }
        Self.addVaryOrigin(&response.headers)
        return response
    }

    static func allow(_ origin: String, on headers: inout HTTPFields) {
        headers[.accessControlAllowOrigin] = origin
        headers[.accessControlAllowCredentials] = "true"
    }

    static func addVaryOrigin(_ headers: inout HTTPFields) {
        let present = headers[values: .vary].flatMap { $0.split(separator: ",") }
            .contains { $0.trimmingCharacters(in: .whitespaces).lowercased() == "origin" || $0.trimmingCharacters(in: .whitespaces) == "*" }
        if !present { headers.append(HTTPField(name: .vary, value: "Origin")) }
    }
}
