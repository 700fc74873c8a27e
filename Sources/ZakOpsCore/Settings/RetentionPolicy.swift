/// How long each kind of data is kept, in days (`RETENTION_*_DAYS`); docs/data-retention.md
/// says why each default is what it is and what each purge deletes.
public struct RetentionPolicy: Sendable, Equatable, Codable {
    /// Sessions, counted from their expiry (kept a while for investigations).
    public var expiredSessionsDays = 30
    /// Password-reset and invitation tokens, from their use or expiry.
    public var resetTokensDays = 7
    /// Idempotency records, from their creation (at least the 24 hours a replay is honoured).
    public var idempotencyDays = 1
    /// Failed-login counts, from the last failure (at least the day the backoff remembers).
    public var loginFailuresDays = 1
    /// Delivered outbox rows, from delivery.
    public var deliveredOutboxDays = 7
    /// Dead letters (the DLQ), from creation.
    public var deadLettersDays = 30
    /// The event log, from the event (the SSE replay window is hours).
    public var eventsDays = 365
    /// Audit entries (seven years), purged behind a signed checkpoint.
    public var auditDays = 7 * 365
    /// Soft-deleted deals, from deletion; then deleted with their actions and personal data.
    public var deletedDealsDays = 90
    /// Disabled operators, from disabling; then their personal data is erased.
    public var disabledOperatorsDays = 365

    public init() {}

    /// Every setting: name, the field, and the smallest value allowed.
    public static var settings: [(name: String, keyPath: WritableKeyPath<RetentionPolicy, Int>, minimum: Int)] {[
        ("RETENTION_EXPIRED_SESSIONS_DAYS", \.expiredSessionsDays, 0),
        ("RETENTION_RESET_TOKENS_DAYS", \.resetTokensDays, 0),
        ("RETENTION_IDEMPOTENCY_DAYS", \.idempotencyDays, 1),
        ("RETENTION_LOGIN_FAILURES_DAYS", \.loginFailuresDays, 1),
        ("RETENTION_DELIVERED_OUTBOX_DAYS", \.deliveredOutboxDays, 1),
        ("RETENTION_DEAD_LETTERS_DAYS", \.deadLettersDays, 1),
        ("RETENTION_EVENTS_DAYS", \.eventsDays, 1),
        ("RETENTION_AUDIT_DAYS", \.auditDays, 365),
        ("RETENTION_DELETED_DEALS_DAYS", \.deletedDealsDays, 0),
        ("RETENTION_DISABLED_OPERATORS_DAYS", \.disabledOperatorsDays, 0),
    ]}
}
