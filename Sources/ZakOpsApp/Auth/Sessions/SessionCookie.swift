import HTTPTypes
import Hummingbird
import ZakOpsHTTP

/// The session cookie, and the one place its attributes are set, through Hummingbird's `Cookie`.
///
/// `__Host-` binds it to this exact host over HTTPS with `Path=/` and no `Domain`;
/// `Secure; HttpOnly; SameSite=Strict; Max-Age=86400` are the checklist's values.
enum SessionCookie {
    static let name = "__Host-zakops_session"

    /// The `Set-Cookie` value that stores `token` for `maxAge` seconds.
    static func set(_ token: String, maxAge: Int) -> String {
        Cookie(name: name, value: token, maxAge: maxAge, path: "/", secure: true, httpOnly: true, sameSite: .strict).description
    }

    /// The `Set-Cookie` value that removes the cookie.
    static var expired: String { Self.set("", maxAge: 0) }

    /// The non-empty session cookie the request carries, of whatever shape (Hummingbird's
    /// `request.cookies`: the first one sent; `__Host-` keeps other hosts from planting one
    /// beside it).
    static func value(in request: Request) -> String? {
        guard let value = request.cookies[name]?.value, !value.isEmpty else { return nil }
        return value
    }

    /// `value` if it has a session token's shape (at most 128 bytes).
    static func token(_ value: String) -> String? {
        value.utf8.count <= PresentedCredential.maxTokenLength ? value : nil
    }

    /// The session token the request carries, if any.
    static func token(in request: Request) -> String? {
        value(in: request).flatMap(token)
    }
}
