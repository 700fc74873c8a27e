/// The one error type of ZakOps: a code the client sees, plus optional client-safe details.
///
/// `field` and `problem` name what was wrong with the input (never the input itself);
/// `logDetail` goes to the log only, after redaction.
public struct AppError: Error, Sendable, CustomStringConvertible {
    public let code: ErrorCode
    /// Name of the offending input field, when there is one.
    public let field: String?
    /// A fixed, client-safe description of the problem (for example "must be at most 200 characters").
    public let problem: String?
    /// Extra headers the response needs (for example `Allow` on 405, `Retry-After` on 429).
    public let headers: [String: String]
    /// Diagnostic detail for the log. Never sent to the client.
    public let logDetail: String?

    public init(
        _ code: ErrorCode,
        field: String? = nil,
        problem: String? = nil,
        headers: [String: String] = [:],
        logDetail: String? = nil
    ) {
        self.code = code
        self.field = field
        self.problem = problem
        self.headers = headers
        self.logDetail = logDetail
    }

    public var description: String {
        "AppError(\(code.rawValue)\(field.map { ", field: \($0)" } ?? ""))"
    }

    /// The same error with more response headers (existing names keep their value).
    public func adding(headers extra: [String: String]) -> AppError {
        AppError(code, field: field, problem: problem, headers: headers.merging(extra) { current, _ in current }, logDetail: logDetail)
    }

    /// A validation error naming the field and the rule it broke.
    public static func validation(field: String, problem: String) -> AppError {
        AppError(.validationError, field: field, problem: problem)
    }
}
