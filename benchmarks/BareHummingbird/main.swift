import Hummingbird

// The baseline of benchmarks/http.sh: a bare Hummingbird route with no middleware,
// answering the same body as ZakOps's /health/live.
let port = Int(CommandLine.arguments.dropFirst().first ?? "8091") ?? 8091
let router = Router()
router.get("/health/live") { _, _ in
    Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: .init(string: #"{"status":"ok"}"#)))
}
let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
try await app.runService()
