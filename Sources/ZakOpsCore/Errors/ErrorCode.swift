/// The stable, upper-case error codes clients see, each with its HTTP status and one fixed message.
///
/// The message is the whole human text a client gets: it never carries input, internal detail or
/// anything that varies per request, so an error body cannot leak what the log keeps.
public enum ErrorCode: String, Sendable, CaseIterable, Codable {
    case validationError = "VALIDATION_ERROR"
    case malformedJSON = "MALFORMED_JSON"
    case sensitiveDataInURL = "SENSITIVE_DATA_IN_URL"
    case unauthorized = "UNAUTHORIZED"
    case invalidCredentials = "INVALID_CREDENTIALS"
    case totpRequired = "TOTP_REQUIRED"
    case forbidden = "FORBIDDEN"
    case notFound = "NOT_FOUND"
    case methodNotAllowed = "METHOD_NOT_ALLOWED"
    case conflict = "CONFLICT"
    case preconditionFailed = "PRECONDITION_FAILED"
    case preconditionRequired = "PRECONDITION_REQUIRED"
    case payloadTooLarge = "PAYLOAD_TOO_LARGE"
    case unsupportedMediaType = "UNSUPPORTED_MEDIA_TYPE"
    case rateLimited = "RATE_LIMITED"
    case csrfFailed = "CSRF_FAILED"
    case invalidStageTransition = "INVALID_STAGE_TRANSITION"
    case idempotencyKeyReused = "IDEMPOTENCY_KEY_REUSED"
    case passwordResetRequired = "PASSWORD_RESET_REQUIRED"
    case internalError = "INTERNAL_ERROR"
    case databaseUnavailable = "DATABASE_UNAVAILABLE"
    case serviceUnavailable = "SERVICE_UNAVAILABLE"
    case lockdown = "LOCKDOWN"

    /// The HTTP status code that goes with the error code.
    public var status: Int {
        switch self {
        case .validationError, .malformedJSON, .sensitiveDataInURL: 400
        case .unauthorized, .invalidCredentials, .totpRequired: 401
        case .forbidden, .csrfFailed, .passwordResetRequired: 403
        case .notFound: 404
        case .methodNotAllowed: 405
        case .conflict: 409
        case .preconditionFailed: 412
        case .preconditionRequired: 428
        case .payloadTooLarge: 413
        case .unsupportedMediaType: 415
        case .invalidStageTransition, .idempotencyKeyReused: 422
        case .rateLimited: 429
        case .internalError: 500
        case .databaseUnavailable, .serviceUnavailable, .lockdown: 503
        }
    }

    /// The fixed human message for the code.
    public var message: String {
        switch self {
        case .validationError: "The request is invalid."
        case .malformedJSON: "The request body is not valid JSON."
        case .sensitiveDataInURL: "Credentials must not be sent in the URL. Send them in the request body or headers."
        case .unauthorized: "Authentication is required."
        case .invalidCredentials: "The e-mail address or password is incorrect."
        case .totpRequired: "A one-time code from your authenticator app is required."
        case .forbidden: "You do not have permission to perform this action."
        case .notFound: "The requested resource was not found."
        case .methodNotAllowed: "This method is not allowed for the requested resource."
        case .conflict: "The request conflicts with the current state of the resource."
        case .preconditionFailed: "The resource has changed since you read it. Read it again and retry."
        case .preconditionRequired: "This change needs an If-Match header with the version you read."
        case .payloadTooLarge: "The request body is too large."
        case .unsupportedMediaType: "The request body must be JSON (Content-Type: application/json)."
        case .rateLimited: "Too many requests. Please try again later."
        case .csrfFailed: "The request could not be verified. Refresh the page and try again."
        case .invalidStageTransition: "The deal cannot move to the requested stage."
        case .idempotencyKeyReused: "This Idempotency-Key was already used with a different request."
        case .passwordResetRequired: "You must change your password before continuing."
        case .internalError: "An internal error occurred."
        case .databaseUnavailable: "Database connection error. Please try again later."
        case .serviceUnavailable: "The service is temporarily unavailable. Please try again later."
        case .lockdown: "The service is locked down by its administrators during an incident. Please try again later."
        }
    }
}
