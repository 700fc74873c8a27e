import HTTPTypes
import Hummingbird
import ZakOpsCore

/// The credential a request presents, seen before authentication: the SHA-256 (hex) of the API
/// key in `Authorization: Bearer …` or of the session cookie, the form both are stored in.
/// It says nothing of whether the credential is valid.
public struct PresentedCredential: Sendable {
    public let hash: String

    /// The rate-limit key: one session or key gets the same budget from every address.
    public var limitKey: String { "credential:" + hash }

    /// What logs name it by: enough of the stored hash to find the session or key, nothing
    /// that could be presented again.
    public var reference: String { String(hash.prefix(16)) }

    /// The credential of `request`, or nil when it presents none.
    public init?(in request: Request, sessionCookie: String) {
        if let authorization = request.headers[.authorization] {
            // An API key as it is stored; any other header text hashed whole.
            hash = BearerKey.hash(authorization: authorization) ?? Digest.sha256Hex(authorization)
        } else if let cookie = request.cookies[sessionCookie], !cookie.value.isEmpty {
            hash = Digest.sha256Hex(cookie.value)
        } else {
            return nil
        }
    }
}
