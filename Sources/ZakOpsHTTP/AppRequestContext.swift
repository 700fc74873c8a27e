import Foundation
import Hummingbird
import Logging
import NIOCore
import ZakOpsCore

/// The request context of every ZakOps route: Hummingbird's core storage plus the request id,
/// the client address, the body limit and the authenticated principal.
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Opaque support reference (`req_…`), returned in `X-Request-ID` and in error bodies.
    public let requestID: String
    /// The client's IP address: the TCP peer's, or the forwarded one when the peer is a trusted
    /// proxy (`ClientAddressMiddleware`).
    public var clientIP: String?
    /// How the client reached ZakOps: the listener's scheme, or a trusted proxy's `X-Forwarded-Proto`.
    public var scheme: RequestScheme = .http
    /// Whether `scheme` came from a trusted proxy's `X-Forwarded-Proto`.
    public var schemeForwarded = false
    /// Maximum request body size in bytes; decoding more gives 413.
    public var bodyLimit: Int = 1_048_576
    /// Who the request acts for, once authentication has run (nil: anonymous).
    public var principal: Principal?
    /// Whether the request presented a credential that was refused (an unknown or revoked API
    /// key): it stays anonymous, counts against its address's limit, then gets 401.
    public var credentialRefused = false
    /// Whether the request carried a session cookie that named no live session (it stays
    /// anonymous; the refusal counts against its address, `CredentialRefusalLimit`).
    public var sessionCookieRefused = false
    /// How the principal was authenticated: only cookie-authenticated requests need a CSRF token.
    public var authenticatedByCookie = false
    /// What the application attaches to the request (`RequestValueKey`).
    public var values = RequestValues()
    /// The credential the request presents, as the rate limiter saw it (nil when it presents
    /// none or the limiter is off): authentication reuses its hash.
    public var presentedCredential: PresentedCredential?
    /// The connection, for `InboundClose`.
    public let connectionID: ObjectIdentifier
    /// Who the request acted for, for the request log.
    public let actor = RequestActor()

    public init(source: ApplicationRequestContextSource) {
        coreContext = CoreRequestContextStorage(source: source)
        requestID = RandomToken.requestID()
        clientIP = source.channel.remoteAddress?.ipAddress
        connectionID = ObjectIdentifier(source.channel)
        // Hummingbird reads its request id from this key (`context.id`); make it ours.
        logger[metadataKey: "hb.request.id"] = .string(requestID)
    }

    public var maxUploadSize: Int { bodyLimit }

    /// Responses are encoded as stored JSON text is (`JSONText.encode`): sorted keys, so the same
    /// value always gives the same bytes, and a replayed response is the first one, byte for byte.
    public var responseEncoder: JSONEncoder { Self.encoder }
    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    /// The principal, or 401 for an anonymous request.
    public func requirePrincipal() throws -> Principal {
        guard let principal else { throw AppError(.unauthorized) }
        return principal
    }
}
