import Foundation
import Hummingbird
import ZakOpsCore

/// The query parameters every list endpoint shares: `limit` and an opaque `cursor`.
public enum ListQuery {
    /// `limit`, 1 to `maximum`, or `defaultLimit` when absent.
    public static func limit(_ request: Request, defaultLimit: Int = 50, maximum: Int = 200) throws -> Int {
        guard let value = request.uri.queryParameters["limit"] else { return defaultLimit }
        guard let limit = Int(String(value)), (1...maximum).contains(limit) else {
            throw AppError.validation(field: "limit", problem: "must be a whole number from 1 to \(maximum)")
        }
        return limit
    }

    /// A cursor is the last item's time and id, base64url-encoded: opaque to clients, checked on
    /// the way back in (a stored time and an id with the expected prefix).
    public static func encodeCursor(time: String, id: String) -> String {
        Base64URL.encode(Data("\(time)|\(id)".utf8))
    }

    public static func cursor(_ request: Request, idPrefix: String) throws -> (time: String, id: String)? {
        guard let value = request.uri.queryParameters["cursor"] else { return nil }
        let invalid = AppError.validation(field: "cursor", problem: "is not a cursor this server issued")
        guard value.count <= 200, let data = Base64URL.decode(String(value)), let text = String(data: data, encoding: .utf8) else { throw invalid }
        let parts = text.split(separator: "|", maxSplits: 1).map(String.init)
        guard parts.count == 2, Timestamp.date(from: parts[0]) != nil, parts[1].hasPrefix(idPrefix), parts[1].count <= 60 else { throw invalid }
        return (parts[0], parts[1])
    }

    /// A public id from the path (`DEAL-…`, `ACT-…`); anything else is 404, never reaching a query.
    public static func pathID(_ context: AppRequestContext, prefix: String) throws -> String {
        guard let id = context.parameters.get("id"), isPublicID(id, prefix: prefix) else { throw AppError(.notFound) }
        return id
    }

    /// Whether `id` has the shape of a public id with this prefix (letters, digits, `-`; at most 40).
    public static func isPublicID(_ id: String, prefix: String) -> Bool {
        id.hasPrefix(prefix) && id.count <= 40 && id.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") })
    }
}
