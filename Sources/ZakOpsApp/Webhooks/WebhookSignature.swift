import Crypto
import Foundation
import ZakOpsCore

/// The Standard Webhooks signature: `v1,` + base64 of HMAC-SHA256 over `id.timestamp.body`,
/// keyed with the base64 part of the `whsec_` secret.
enum WebhookSignature {
    static let secretPrefix = "whsec_"

    /// A new signing secret: 32 random bytes.
    static func newSecret() -> String {
        secretPrefix + Data(RandomToken.bytes(32)).base64EncodedString()
    }

    static func sign(secret: String, id: String, timestamp: Int64, body: String) throws -> String {
        guard secret.hasPrefix(secretPrefix), let key = Data(base64Encoded: String(secret.dropFirst(secretPrefix.count))) else {
            throw AppError(.internalError, logDetail: "a webhook secret is not whsec_ + base64")
        }
        let mac = HMAC<SHA256>.authenticationCode(for: Data("\(id).\(timestamp).\(body)".utf8), using: SymmetricKey(data: key))
        return "v1," + Data(mac).base64EncodedString()
    }
}
