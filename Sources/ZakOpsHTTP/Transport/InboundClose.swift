import NIOCore
import Synchronization

/// Tells a long response (a Server-Sent Events stream) that its client has closed the
/// connection, as soon as the FIN arrives.
///
/// Hummingbird allows half-closed connections, and does not read a connection while a response
/// is being written; its own remedy (`consumeWithInboundCloseHandler`) costs a child task and a
/// stream per response, 6 KiB on each of 10,000 SSE streams. Here a channel handler (one per
/// connection, a few bytes) watches for the half-close or the end of the channel, and calls
/// what the response registered for its channel, if anything.
///
/// Two limits, both ending in the old behaviour (the stream's place is freed by the next
/// heartbeat's failed write): a close that arrives before the stream has registered is not
/// seen here; and a client that half-closes on purpose after its request (no browser does)
/// loses its stream, as the server cannot tell it from a client that left.
public enum InboundClose {
    private static let registrations = Mutex<[ObjectIdentifier: @Sendable () -> Void]>([:])

    /// Calls `action` once when the client closes the connection `channel`, until `forget`.
    public static func onClose(of channel: ObjectIdentifier, _ action: @escaping @Sendable () -> Void) {
        registrations.withLock { $0[channel] = action }
    }

    /// Drops the registration of `channel` (the response ended).
    public static func forget(_ channel: ObjectIdentifier) {
        registrations.withLock { $0[channel] = nil }
    }

    static func closed(_ channel: ObjectIdentifier) {
        let action = registrations.withLock { $0.removeValue(forKey: channel) }
        action?()
    }

    /// How many responses wait for their client's close (for tests).
    public static var count: Int { registrations.withLock { $0.count } }

    /// The channel handler that notices the close; one per connection
    /// (`HTTP1Channel.Configuration.additionalChannelHandlers`).
    public final class Handler: ChannelInboundHandler, RemovableChannelHandler {
        public typealias InboundIn = Never

        public init() {}

        public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if let event = event as? ChannelEvent, event == .inputClosed {
                InboundClose.closed(ObjectIdentifier(context.channel))
            }
            context.fireUserInboundEventTriggered(event)
        }

        public func channelInactive(context: ChannelHandlerContext) {
            InboundClose.closed(ObjectIdentifier(context.channel))
            context.fireChannelInactive()
        }
    }
}
