import Foundation
import Hummingbird
import ZakOpsCore

extension Request {
    /// Decodes a JSON body into `T`, with ZakOps's errors: 415 when it is not JSON, 413 over the
    /// body limit, 400 `MALFORMED_JSON` when it does not parse, and 400 `VALIDATION_ERROR`
    /// naming the field when its shape is wrong. No error ever quotes the input.
    public func decodeJSON<T: Decodable>(as type: T.Type, context: AppRequestContext) async throws -> T {
        try Self.decode(T.self, from: try await jsonBody(context: context))
    }

    /// Like `decodeJSON`, and also refuses fields the type does not know (400
    /// `VALIDATION_ERROR` whose `field` lists them, comma-separated, by name only).
    public func decodeStrictJSON<T: StrictDecodable>(as type: T.Type, context: AppRequestContext) async throws -> T {
        let data = try await jsonBody(context: context)
        if let object = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) as? [String: Any] {
            let unknown = T.knownFields.unknown(in: object, prefix: "")
            if !unknown.isEmpty {
                throw AppError.validation(field: unknown.prefix(20).joined(separator: ","), problem: "is not a known field")
            }
        }
        return try Self.decode(T.self, from: data)
    }

    private func jsonBody(context: AppRequestContext) async throws -> Data {
        let contentType = headers[.contentType]?.lowercased() ?? ""
        guard contentType.hasPrefix("application/json") else {
            throw AppError(.unsupportedMediaType)
        }
        return Data(try await body.collect(upTo: context.bodyLimit).readableBytesView)
    }

    private static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch let error as DecodingError {
            throw Self.appError(for: error)
        }
    }

    static func appError(for error: DecodingError) -> AppError {
        // Only the type's declared keys (synthesized CodingKeys are enums) and array indices are
        // named; a dictionary key is the client's own text, so it becomes `*`.
        func path(_ codingPath: [any CodingKey]) -> String {
            let text = codingPath.map { key -> String in
                if let index = key.intValue { return "[\(index)]" }
                return Mirror(reflecting: key).displayStyle == .enum ? key.stringValue : "*"
            }
            .joined(separator: ".")
            .replacingOccurrences(of: ".[", with: "[")
            return String(text.prefix(200))
        }
        switch error {
        case .dataCorrupted(let context) where context.codingPath.isEmpty:
            return AppError(.malformedJSON, problem: "the body is not well-formed JSON", logDetail: "json syntax")
        case .dataCorrupted(let context):
            return .validation(field: path(context.codingPath), problem: "has an invalid value")
        case .keyNotFound(let key, let context):
            return .validation(field: path(context.codingPath + [key]), problem: "is required")
        case .valueNotFound(_, let context):
            return .validation(field: path(context.codingPath), problem: "must not be null")
        case .typeMismatch(let expected, let context):
            let field = context.codingPath.isEmpty ? "body" : path(context.codingPath)
            return .validation(field: field, problem: "must be \(Self.jsonTypeName(expected))")
        @unknown default:
            return AppError(.validationError)
        }
    }

    private static func jsonTypeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Bool.Type: "true or false"
        case is Int.Type, is Int64.Type, is Int32.Type, is UInt.Type: "a whole number"
        case is Double.Type, is Float.Type, is Decimal.Type: "a number"
        default: "an object of the expected shape"
        }
    }
}
