import Hummingbird
import HTTPTypes
import Logging

/// One log line per request: method, route pattern (never the raw path or query string),
/// status, duration, client IP and request id. Also returns the id in `X-Request-ID`.
public struct RequestLogMiddleware: RouterMiddleware {
    public typealias Context = AppRequestContext
    static let requestIDHeader = HTTPField.Name("X-Request-ID")!

    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        var response = try await next(request, context)
        response.headers[Self.requestIDHeader] = context.requestID
        let elapsed = ContinuousClock.now - start
        let milliseconds = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        context.logger.info("request", metadata: [
            "method": .string(request.method.rawValue),
            "route": .string(context.endpointPath ?? "unmatched"),
            "status": .stringConvertible(response.status.code),
            "duration_ms": .stringConvertible((milliseconds * 1000).rounded() / 1000),
            "client_ip": .string(context.clientIP ?? "unknown"),
        ])
        return response
    }
}
