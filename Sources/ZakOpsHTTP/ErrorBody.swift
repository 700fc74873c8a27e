import Foundation
import Hummingbird
import HTTPTypes
import ZakOpsCore

/// The JSON every error response carries:
/// `{"error":{"code","message","request_id"}}`, plus `field` and `detail` for validation errors.
/// Every part is either a fixed text of ErrorCode or a fixed, input-free text of the validator.
public struct ErrorBody: Codable, Sendable, Equatable {
    public struct Content: Codable, Sendable, Equatable {
        public let code: String
        public let message: String
        public let field: String?
        public let detail: String?
        public let requestID: String

        enum CodingKeys: String, CodingKey {
            case code, message, field, detail
            case requestID = "request_id"
        }
    }

    public let error: Content

    /// The response for `error`, with its status and extra headers.
    public static func response(for error: AppError, requestID: String) -> Response {
        let body = ErrorBody(error: Content(
            code: error.code.rawValue,
            message: error.code.message,
            field: error.field,
            detail: error.problem,
            requestID: requestID
        ))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(body)) ?? Data(#"{"error":{"code":"INTERNAL_ERROR","message":"An internal error occurred."}}"#.utf8)
        var headers: HTTPFields = [:]
        for (name, value) in error.headers {
            if let field = HTTPField.Name(name) { headers[field] = value }
        }
        return JSONResponse.make(ByteBuffer(bytes: data), status: HTTPResponse.Status(code: error.code.status), headers: headers)
    }
}
