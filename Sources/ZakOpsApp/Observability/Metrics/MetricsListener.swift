import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ZakOpsCore

/// `/metrics` on a listener of its own (`METRICS_HOST`:`METRICS_PORT`, loopback by default),
/// never on the public one: what the counters reveal (traffic, failures, queue sizes) is for the
/// operators' Prometheus only. With `METRICS_TOKEN` it answers only `Authorization: Bearer
/// <token>` (compared in constant time) and 401 otherwise.
public enum MetricsListener {
    public static func application(settings: Settings, logger: Logger, onRunning: @escaping @Sendable (Int) async -> Void = { _ in })
        -> some ApplicationProtocol {
        let router = Router()
        let token = settings.metricsToken
        router.get("/metrics") { request, _ -> Response in Self.response(authorization: request.headers[.authorization], token: token?.value) }
        return Application(router: router, configuration: .init(address: .hostname(settings.metricsHost, port: settings.metricsPort), serverName: nil),
                           onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? 0) }, logger: logger)
    }

    /// The scrape's answer: the registry's text, or 401 when a token is required and the
    /// request does not carry it.
    static func response(authorization: String?, token: String?) -> Response {
        if let token {
            guard let header = authorization, header.hasPrefix("Bearer "), Self.matches(String(header.dropFirst("Bearer ".count)), token) else {
                return Response(status: .unauthorized, headers: [.wwwAuthenticate: "Bearer", .cacheControl: "no-store"])
            }
        }
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8", .cacheControl: "no-store"],
                        body: ResponseBody(byteBuffer: ByteBuffer(string: ZakOpsMetrics.render())))
    }

    /// Constant-time comparison through HMAC of both sides under a fresh key: equal lengths
    /// and contents cannot be told apart from timing.
    static func matches(_ presented: String, _ expected: String) -> Bool {
        let key = SymmetricKey(size: .bits256)
        let mac = HMAC<SHA256>.authenticationCode(for: Data(expected.utf8), using: key)
        return HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: Data(presented.utf8), using: key)
    }
}
