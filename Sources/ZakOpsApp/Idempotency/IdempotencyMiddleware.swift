import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ZakOpsCore
import ZakOpsHTTP

/// `Idempotency-Key` on creating POSTs: the same key with the same body from the same principal
/// within 24 hours gets the first (successful) response again, with `Idempotent-Replayed:
/// true`, and creates nothing; the same key with another body is 422
/// `IDEMPOTENCY_KEY_REUSED`; while the first request runs, a second one is 409. Keys are per
/// principal, so two principals' keys never collide. A request that fails gives its key back,
/// so that it can be retried.
///
/// Limit: the response is recorded after the change commits; if the process dies in between,
/// the key stays "in progress" (409) until it expires.
struct IdempotencyMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    static let header = HTTPField.Name("Idempotency-Key")!
    static let replayed = HTTPField.Name("Idempotent-Replayed")!

    let store: IdempotencyStore
    let clock: any AppClock
    /// The creating routes (`/api/deals`, later `/api/actions`).
    let paths: Set<String>

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = "/" + request.uri.path.split(separator: "/").joined(separator: "/")
        guard request.method == .post, paths.contains(path), let key = request.headers[Self.header], let principal = context.principal else {
            return try await next(request, context)
        }
        guard (1...255).contains(key.utf8.count), key.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            throw AppError.validation(field: "Idempotency-Key", problem: "must be 1 to 255 printable ASCII characters")
        }
        let body = try await request.body.collect(upTo: context.bodyLimit)
        let hash = Digest.sha256Hex(Array("POST \(path)\n".utf8) + Array(body.readableBytesView))
        switch try await store.claim(principalID: principal.id, key: key, requestHash: hash, now: clock.now()) {
        case .replay(let status, let text, let location):
            var headers: HTTPFields = [.contentType: "application/json; charset=utf-8", Self.replayed: "true"]
            if let location { headers[.location] = location }
            return Response(status: HTTPResponse.Status(code: status), headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
        case .mismatch:
            throw AppError(.idempotencyKeyReused, field: "Idempotency-Key", problem: "was used with a different request")
        case .inProgress:
            throw AppError(.conflict, field: "Idempotency-Key", problem: "a request with this key is still in progress")
        case .claimed:
            break
        }
        var forwarded = request
        forwarded.body = RequestBody(buffer: body)
        let response: Response
        do {
            response = try await next(forwarded, context)
        } catch {
            try? await store.release(principalID: principal.id, key: key)
            throw error
        }
        guard (200..<300).contains(response.status.code) else {
            try? await store.release(principalID: principal.id, key: key)
            return response
        }
        let collector = BodyCollector()
        var response2 = response
        try await response.body.write(collector)
        let bytes = collector.buffer
        try await store.complete(principalID: principal.id, key: key, status: response.status.code,
                                 body: String(buffer: bytes), location: response.headers[.location])
        response2.body = ResponseBody(byteBuffer: bytes)
        return response2
    }
}

/// Collects a response body into one buffer (responses of creating routes are small JSON).
final class BodyCollector: ResponseBodyWriter, @unchecked Sendable {
    var buffer = ByteBuffer()

    func write(_ part: ByteBuffer) async throws {
        var part = part
        buffer.writeBuffer(&part)
    }

    func finish(_ trailingHeaders: HTTPFields?) async throws {}
}
