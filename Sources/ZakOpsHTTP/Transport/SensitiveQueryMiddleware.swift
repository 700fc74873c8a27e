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
                throw AppError(.sensitiveDataInURL, logDetail: "parameter names: " + sensitive.map(Self.loggable).joined(separator: ","))
            }
        }
        return try await next(request, context)
    }

    /// The query's parameter names, percent-decoded (Hummingbird decodes values only, so
    /// `?pass%77ord=` is `password` here), never the values. A name that does not decode is
    /// kept as sent.
    public static func parameterNames(_ request: Request) -> [String] {
        request.uri.queryParameters.map { String($0.key) }.map { $0.removingPercentEncoding ?? $0 }
    }

    /// A parameter name as the request log may show it: short names of letters, digits and
    /// `_.-` as they are; anything else (a bare token sent as `?zk_…`) as `?`.
    public static func loggable(_ name: String) -> String {
        let allowed: (UInt8) -> Bool = { (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) || $0 == 0x5F || $0 == 0x2E || $0 == 0x2D }
        return name.utf8.count <= 32 && !name.isEmpty && name.utf8.allSatisfy(allowed) ? name : "?"
    }

    static func isSensitive(_ name: String) -> Bool {
        let lowered = name.lowercased()
        // An API key sent as a bare name (`?zk_…`).
        if lowered.hasPrefix("zk_") { return true }
        let normalized = String(lowered.filter { $0 != "-" && $0 != "_" && $0 != "." })
        return exactNames.contains(normalized) || containedWords.contains { normalized.contains($0) }
    }
}
