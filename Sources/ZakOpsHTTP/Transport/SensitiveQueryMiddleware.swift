import Foundation
import Hummingbird
import ZakOpsCore

/// Refuses a request whose query string names a credential (`?password=`, `?api_key=`,
/// `?access_token=` …) with 400 `SENSITIVE_DATA_IN_URL` before any handler runs. URLs end up
/// in proxy logs, browser history and `Referer` headers; ZakOps accepts credentials only in
/// bodies and headers, so such a request is a client mistake worth stopping loudly.
public struct SensitiveQueryMiddleware: RouterMiddleware {
    public typealias Context = AppRequestContext

    /// Parameter names are lower-cased and stripped of `-`, `_` and `.` before matching.
    static let containedWords = ["password", "passwd", "passphrase", "secret", "token", "apikey", "session", "csrf",
                                 "credential", "authorization", "privatekey", "cookie"]
    static let exactNames: Set<String> = ["pwd", "pass", "key", "auth", "otp", "totp", "jwt", "sid", "signature", "sig"]

    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if request.uri.query != nil {
            let names = Self.parameterNames(request)
            let sensitive = names.filter(Self.isSensitive)
            if !sensitive.isEmpty {
                throw AppError(.sensitiveDataInURL, logDetail: "parameter names: " + sensitive.joined(separator: ","))
            }
        }
        return try await next(request, context)
    }

    /// The query's parameter names, percent-decoded, never the values.
    public static func parameterNames(_ request: Request) -> [String] {
        request.uri.queryParameters.map { String($0.key) }
    }

    static func isSensitive(_ name: String) -> Bool {
        let normalized = String(name.lowercased().filter { $0 != "-" && $0 != "_" && $0 != "." })
        return exactNames.contains(normalized) || containedWords.contains { normalized.contains($0) }
    }
}
