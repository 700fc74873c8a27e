import HTTPTypes
import Hummingbird
import ZakOpsCore
import ZakOpsHTTP

/// A creating request's answer, built once by its controller: sent live, and recorded under the
/// request's `Idempotency-Key` inside the change's transaction (`ChangeContext.record`), so a
/// replay is the first answer byte for byte. Services record it without looking inside.
struct Reply: Sendable {
    let status: HTTPResponse.Status
    let json: String
    let location: String?

    /// 201 with JSON text already written.
    static func created(json: String, location: String?) -> Reply {
        Reply(status: .created, json: json, location: location)
    }

    /// 201 with `body` encoded as every response is (sorted keys).
    static func created(_ body: some Encodable, location: String?) throws -> Reply {
        Reply(status: .created, json: try JSONText.encode(body), location: location)
    }

    /// The HTTP response.
    var response: Response {
        JSONResponse.make(json, status: status, headers: location.map { [.location: $0] } ?? [:])
    }
}
