import ZakOpsTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore

/// A local webhook receiver: records every delivery and answers with the status it is told.
actor WebhookInbox {
    struct Delivery: Sendable {
        let headers: HTTPFields
        let body: String
        /// The request's Host (HTTP/1.1) as the receiver saw it.
        var authority: String? = nil
    }

    private(set) var deliveries: [Delivery] = []
    var status: HTTPResponse.Status = .noContent
    /// How long the receiver takes to answer (a slow receiver keeps deliveries in flight).
    var delay: Duration = .zero

    func answerSlowly(after delay: Duration) { self.delay = delay }

    func record(_ delivery: Delivery) -> HTTPResponse.Status {
        deliveries.append(delivery)
        return status
    }

    func answer(with status: HTTPResponse.Status) { self.status = status }
}

enum WebhookReceiver {
    /// Runs `body` with a receiver listening on 127.0.0.1; passes its URL and its inbox.
    static func run(_ body: @Sendable (_ url: String, _ inbox: WebhookInbox) async throws -> Void) async throws {
        let inbox = WebhookInbox()
        let router = Router()
        router.post("/hook") { request, context -> Response in
            let text = String(buffer: try await request.body.collect(upTo: 1_000_000))
            let delay = await inbox.delay
            if delay > .zero { try await Task.sleep(for: delay) }
            return Response(status: await inbox.record(.init(headers: request.headers, body: text, authority: request.head.authority)))
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            try await body("http://127.0.0.1:\(client.port!)/hook", inbox)
        }
    }
}
