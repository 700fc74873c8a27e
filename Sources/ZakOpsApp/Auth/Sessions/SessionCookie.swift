import HTTPTypes
import Hummingbird

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

    /// Whether the request carries a non-empty session cookie, of whatever shape.
    static func isPresented(in request: Request) -> Bool {
        request.cookies[name].map { !$0.value.isEmpty } ?? false
    }

    /// The session token the request carries, if any (Hummingbird's `request.cookies`: the
    /// first one sent; `__Host-` keeps other hosts from planting one beside it).
    static func token(in request: Request) -> String? {
        guard let value = request.cookies[name]?.value, !value.isEmpty, value.utf8.count <= 128 else { return nil }
        return value
    }
}
