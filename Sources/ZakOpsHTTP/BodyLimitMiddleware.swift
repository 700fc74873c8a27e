import Hummingbird
import ZakOpsCore

/// Refuses a body over the limit before any handler runs (by `Content-Length`), and sets the
/// limit that decoding enforces for bodies without a length (chunked).
public struct BodyLimitMiddleware: RouterMiddleware {
    public typealias Context = AppRequestContext
    let limit: Int

    public init(limit: Int) {
        self.limit = limit
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw AppError(.payloadTooLarge, logDetail: "content-length \(length) over limit \(limit)")
        }
        var context = context
        context.bodyLimit = limit
        return try await next(request, context)
    }
}
