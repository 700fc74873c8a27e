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

    /// A cursor is the last item's position in commit order (its sequence number),
    /// base64url-encoded: opaque to clients, checked on the way back in.
    public static func encodeCursor(sequence: Int64) -> String {
        Base64URL.encode(Data("s\(sequence)".utf8))
    }

    public static func cursor(_ request: Request) throws -> Int64? {
        guard let value = request.uri.queryParameters["cursor"] else { return nil }
        let invalid = AppError.validation(field: "cursor", problem: "is not a cursor this server issued")
        guard value.count <= 40, let data = Base64URL.decode(String(value)), let text = String(data: data, encoding: .utf8),
              text.first == "s", let sequence = Int64(text.dropFirst()), sequence >= 0 else { throw invalid }
        return sequence
    }

    /// A public id from the path (`DEAL-…`, `ACT-…`, `wh_…`, `msg_…`); anything else is 404,
    /// never reaching a query.
    public static func pathID(_ context: AppRequestContext, prefix: String) throws -> String {
        guard let id = context.parameters.get("id"), isPublicID(id, prefix: prefix) else { throw AppError(.notFound) }
        return id
    }

    /// Whether `id` has the shape of a public id with this prefix: letters, digits and the
    /// prefix's separator (`-` for `DEAL-`, `_` for `wh_`); at most 40 characters.
    public static func isPublicID(_ id: String, prefix: String) -> Bool {
        let separator = prefix.last
        return id.hasPrefix(prefix) && id.count <= 40 && id.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == separator) })
    }
}
