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
    /// The TCP peer's IP address (the transport middleware may replace it with the forwarded one).
    public var clientIP: String?
    /// Maximum request body size in bytes; decoding more gives 413.
    public var bodyLimit: Int = 1_048_576
    /// Who the request acts for, once authentication has run (nil: anonymous).
    public var principal: Principal?
    /// How the principal was authenticated: only cookie-authenticated requests need a CSRF token.
    public var authenticatedByCookie = false

    public init(source: ApplicationRequestContextSource) {
        coreContext = CoreRequestContextStorage(source: source)
        requestID = RandomToken.requestID()
        clientIP = source.channel.remoteAddress?.ipAddress
        // Hummingbird reads its request id from this key (`context.id`); make it ours.
        logger[metadataKey: "hb.request.id"] = .string(requestID)
    }

    public var maxUploadSize: Int { bodyLimit }
}
