import Hummingbird
import HTTPTypes
import Logging
import Metrics

/// One log line per request: method, route pattern (never the raw path or query string),
/// query parameter names (never their values), status, duration, the client address in the
/// form `LOG_CLIENT_IP` asks (`clientAddress`), request id, and for an authenticated request
/// the principal's id and a short fingerprint of its session or key (`RequestActor`), so that
/// an access report can follow one credential through the log. Also returns the id in
/// `X-Request-ID`.
public struct RequestLogMiddleware: RouterMiddleware {
    public typealias Context = AppRequestContext
    static let requestIDHeader = HTTPField.Name("X-Request-ID")!
    static let methods: Set<HTTPRequest.Method> = [.get, .head, .post, .put, .patch, .delete, .options]
    let clientAddress: @Sendable (String?) -> String

    /// - Parameter clientAddress: the log's name for a client address (the full address, a
    ///   keyed hash, or its network).
    public init(clientAddress: @escaping @Sendable (String?) -> String = { $0 ?? "unknown" }) {
        self.clientAddress = clientAddress
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        var response = try await next(request, context)
        response.headers[Self.requestIDHeader] = context.requestID
        let elapsed = ContinuousClock.now - start
        let milliseconds = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        var metadata: Logger.Metadata = [
            "method": .string(request.method.rawValue),
            "route": .string(context.endpointPath ?? "unmatched"),
            "status": .stringConvertible(response.status.code),
            "duration_ms": .stringConvertible((milliseconds * 1000).rounded() / 1000),
            "client_ip": .string(clientAddress(context.clientIP)),
        ]
        if let principal = context.actor.principalID {
            metadata["principal_id"] = .string(principal)
            if let reference = context.actor.credentialReference { metadata["credential_ref"] = .string(reference) }
        }
        if request.uri.query != nil {
            // At most 20 names, each shown only if it looks like a name: enough to debug, and
            // neither a log-flooding channel nor a place for a token sent as a bare name.
            let names = SensitiveQueryMiddleware.parameterNames(request).prefix(20).map(SensitiveQueryMiddleware.loggable)
            metadata["query_params"] = .string(names.joined(separator: ","))
        }
        context.logger.info("request", metadata: metadata)
        // The same facts as metrics, labelled by the route pattern (never the path), a known
        // method and the status class: a bounded set of series whatever the traffic.
        // The router names its not-found handler "NotFound"; a request refused before routing has
        // no route: both are "unmatched", one series whatever the path.
        let route = context.endpointPath.flatMap { $0 == "NotFound" ? nil : $0 } ?? "unmatched"
        let method = Self.methods.contains(request.method) ? request.method.rawValue : "OTHER"
        Counter(label: "zakops_http_requests_total", dimensions: [("route", route), ("method", method), ("status", "\(response.status.code / 100)xx")])
            .increment()
        Timer(label: "zakops_http_request_duration_seconds", dimensions: [("route", route)]).recordNanoseconds(
            elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
        return response
    }
}
