import Foundation
import HTTPTypes
import Hummingbird
import ZakOpsCore

/// Decides who the client is and how it came: the TCP peer's address and the listener's scheme,
/// unless the peer is a trusted proxy (`TRUSTED_PROXIES`). Then the client is the rightmost
/// `X-Forwarded-For` address that is not itself a trusted proxy, and the scheme is the proxy's
/// `X-Forwarded-Proto`. From any other peer both headers are ignored, so a client cannot pick
/// its own address to dodge a rate limit.
///
/// It is the outermost middleware so that the request log sees the resolved address. It never
/// throws: a malformed forwarded header leaves the peer as the client.
public struct ClientAddressMiddleware: RouterMiddleware {
    public typealias Context = AppRequestContext
    static let forwardedFor = HTTPField.Name("X-Forwarded-For")!
    static let forwardedProto = HTTPField.Name("X-Forwarded-Proto")!

    let trustedProxies: [CIDR]
    let listenerScheme: RequestScheme

    public init(trustedProxies: [CIDR], listenerScheme: RequestScheme) {
        self.trustedProxies = trustedProxies
        self.listenerScheme = listenerScheme
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.scheme = listenerScheme
        guard !trustedProxies.isEmpty, let peerText = context.clientIP, let peer = IPAddress(peerText), isTrusted(peer) else {
            return try await next(request, context)
        }
        if let client = Self.client(forwardedFor: request.headers[values: Self.forwardedFor], isTrusted: isTrusted) {
            context.clientIP = client.text
        }
        if let proto = request.headers[values: Self.forwardedProto].last?.split(separator: ",").last?
            .trimmingCharacters(in: .whitespaces).lowercased(), let scheme = RequestScheme(rawValue: proto) {
            context.scheme = scheme
            context.schemeForwarded = true
        }
        return try await next(request, context)
    }

    func isTrusted(_ address: IPAddress) -> Bool {
        trustedProxies.contains { $0.contains(address) }
    }

    /// The rightmost untrusted address of the `X-Forwarded-For` lines (all lines, in order).
    /// Nil when a malformed entry is met before one (the chain cannot be followed past it) or
    /// when every entry is a trusted proxy.
    static func client(forwardedFor lines: [String], isTrusted: (IPAddress) -> Bool) -> IPAddress? {
        let entries = lines.flatMap { $0.split(separator: ",") }
        for entry in entries.reversed() {
            guard let address = IPAddress(forwarded: String(entry)) else { return nil }
            if !isTrusted(address) { return address }
        }
        return nil
    }
}
