import HTTPTypes
import Hummingbird

/// The session cookie, and the one place its attributes are set.
///
/// `__Host-` binds it to this exact host over HTTPS with `Path=/` and no `Domain`;
/// `Secure; HttpOnly; SameSite=Strict; Max-Age=86400` are the checklist's values.
enum SessionCookie {
    static let name = "__Host-zakops_session"

    /// The `Set-Cookie` value that stores `token` for `maxAge` seconds.
    static func set(_ token: String, maxAge: Int) -> String {
        "\(name)=\(token); Path=/; Max-Age=\(maxAge); Secure; HttpOnly; SameSite=Strict"
    }

    /// The `Set-Cookie` value that removes the cookie.
    static var expired: String {
        "\(name)=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Strict"
    }

    /// The session token the request carries, if any (the last one wins if several are sent).
    static func token(in request: Request) -> String? {
        var found: String?
        for field in request.headers[values: .cookie] {
            for pair in field.split(separator: ";") {
                let trimmed = pair.drop(while: { $0 == " " })
                guard trimmed.hasPrefix(name + "=") else { continue }
                let value = trimmed.dropFirst(name.count + 1)
                if !value.isEmpty, value.count <= 128 { found = String(value) }
            }
        }
        return found
    }
}
