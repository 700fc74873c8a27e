import Hummingbird

/// Runs a fixed list of middleware, outermost first, around a final responder (the router).
///
/// The server-wide pipeline wraps the router as a whole, so it also sees requests that match no
/// route, and it can be built after every route is registered (405 needs the route list).
public struct PipelineResponder<Context: RequestContext>: HTTPResponder {
    let middlewares: [any MiddlewareProtocol<Request, Response, Context>]
    let final: any HTTPResponder<Context>

    public init(_ middlewares: [any MiddlewareProtocol<Request, Response, Context>], around final: any HTTPResponder<Context>) {
        self.middlewares = middlewares
        self.final = final
    }

    /// The chain runs in a child task (`inChildTask`): run in the connection's own task, the
    /// frames of a dozen middleware and a handler stayed allocated for as long as the
    /// connection was open (545 MiB for 10,000 idle keep-alive connections; 233 MiB this way).
    public func respond(to request: Request, context: Context) async throws -> Response {
        try await inChildTask { try await run(index: 0, request: request, context: context) }
    }

    private func run(index: Int, request: Request, context: Context) async throws -> Response {
        guard index < middlewares.count else {
            return try await final.respond(to: request, context: context)
        }
        return try await middlewares[index].handle(request, context: context) { request, context in
            try await self.run(index: index + 1, request: request, context: context)
        }
    }
}
