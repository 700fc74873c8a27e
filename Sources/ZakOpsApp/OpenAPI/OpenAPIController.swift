import Foundation
import Hummingbird
import NIOCore
import ZakOpsCore
import ZakOpsHTTP

/// `GET /openapi.json`: the OpenAPI 3.1 contract of every endpoint, public like the health
/// probes. The document ships with the binary; a test keeps it in step with the router and the
/// test command checks the running server against it (schemathesis).
struct OpenAPIController: Sendable {
    let document: ByteBuffer

    init() throws {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "json") else {
            throw AppError(.internalError, logDetail: "the bundled OpenAPI document is missing")
        }
        document = ByteBuffer(bytes: Array(try Data(contentsOf: url)))
    }

    func register(on router: Router<AppRequestContext>) {
        router.get("/openapi.json") { _, _ in
            JSONResponse.make(document, headers: [.cacheControl: "no-cache"])
        }
    }
}
