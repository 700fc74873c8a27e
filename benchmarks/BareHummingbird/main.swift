import Foundation
import HTTPTypes
import Hummingbird
import Synchronization

// The baseline of the benchmarks: bare Hummingbird routes with no middleware.
// - /health/live answers the same body as ZakOps's (benchmarks/http.sh);
// - /bare/deal encodes a deal-shaped value with Hummingbird's JSON encoding on every request,
//   the "bare Hummingbird JSON route" of benchmarks/api.sh;
// - POST /hook is the webhook receiver of benchmarks/outbox.sh: counts deliveries and distinct
//   webhook-ids (GET /hook/count answers "deliveries distinct").
struct Metrics: Codable {
    let asking_price: String?
    let ebitda: String?
    let revenue: String?
}

struct Deal: ResponseEncodable, Codable {
    let id: String
    let canonical_name: String
    let display_name: String
    let stage: String
    let status: String
    let company_info: [String: String]
    let metrics: Metrics
    let version: Int
    let created_at: String
    let updated_at: String
}

let port = Int(CommandLine.arguments.dropFirst().first ?? "8091") ?? 8091
let router = Router()
router.get("/health/live") { _, _ in
    Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: .init(string: #"{"status":"ok"}"#)))
}
router.get("/bare/deal") { _, _ in
    Deal(id: "DEAL-ABCDEFGHIJKLMNOP", canonical_name: "Benchmark deal", display_name: "Benchmark deal", stage: "screening", status: "active",
         company_info: ["sector": "software", "region": "EMEA"], metrics: Metrics(asking_price: "1000000.00", ebitda: "250000.00", revenue: nil),
         version: 1, created_at: "2026-11-29T12:00:00.000Z", updated_at: "2026-11-29T12:00:00.000Z")
}
final class HookCounter: Sendable {
    struct State {
        var deliveries = 0
        var ids = Set<String>()
    }
    let state = Mutex(State())
}
let hooks = HookCounter()
router.post("/hook") { request, _ -> HTTPResponse.Status in
    let id = request.headers[HTTPField.Name("webhook-id")!] ?? ""
    hooks.state.withLock { state in
        state.deliveries += 1
        state.ids.insert(id)
    }
    return .noContent
}
router.get("/hook/count") { _, _ -> String in
    hooks.state.withLock { "\($0.deliveries) \($0.ids.count)" }
}
let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
try await app.runService()
