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
/// The creating routes record their response in the transaction of the change
/// (`ChangeContext.recordResponse`): the key is answered exactly when the change committed, even
/// if the process dies right after.
struct IdempotencyMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    static let header = HTTPField.Name("Idempotency-Key")!
    static let replayed = HTTPField.Name("Idempotent-Replayed")!

    let store: IdempotencyStore
    let clock: any AppClock
    /// The creating routes, `*` standing for one path segment (`/api/admin/service-accounts/*/keys`).
    let paths: [String]

    func matches(_ path: String) -> Bool {
        let segments = path.split(separator: "/")
        return paths.contains { pattern in
            let parts = pattern.split(separator: "/")
            return parts.count == segments.count && zip(parts, segments).allSatisfy { $0 == "*" || $0 == $1 }
        }
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = "/" + request.uri.path.split(separator: "/").joined(separator: "/")
        guard request.method == .post, matches(path), let key = request.headers[Self.header], let principal = context.principal else {
            return try await next(request, context)
        }
        guard (1...255).contains(key.utf8.count), key.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            throw AppError.validation(field: "Idempotency-Key", problem: "must be 1 to 255 printable ASCII characters")
        }
        let body = try await request.body.collect(upTo: context.bodyLimit)
        let hash = Digest.sha256Hex(Array("POST \(path)\n".utf8) + Array(body.readableBytesView))
        let claim = IdempotencyClaim(principalID: principal.id, key: key)
        switch try await store.claim(claim, requestHash: hash, now: clock.now()) {
        case .replay(let status, let text, let location):
            var headers: HTTPFields = [Self.replayed: "true"]
            if let location { headers[.location] = location }
            return JSONResponse.make(text, status: HTTPResponse.Status(code: status), headers: headers)
        case .mismatch:
            throw AppError(.idempotencyKeyReused, field: "Idempotency-Key", problem: "was used with a different request")
        case .inProgress:
            throw AppError(.conflict, field: "Idempotency-Key", problem: "a request with this key is still in progress")
        case .claimed:
            break
        }
        var forwarded = request
        forwarded.body = RequestBody(buffer: body)
        var claimedContext = context
        claimedContext.idempotencyClaim = claim
        let response: Response
        do {
            response = try await next(forwarded, claimedContext)
        } catch {
            try? await store.release(claim)
            throw error
        }
        guard (200..<300).contains(response.status.code) else {
            try? await store.release(claim)
            return response
        }
        // Every creating route records in its transaction; this catches one that did not.
        let collector = BodyCollector()
        var collected = response
        try await response.body.write(collector)
        let bytes = collector.buffer
        try await store.recordIfOpen(claim, status: response.status.code, body: String(buffer: bytes), location: response.headers[.location])
        collected.body = ResponseBody(byteBuffer: bytes)
        return collected
    }
}
