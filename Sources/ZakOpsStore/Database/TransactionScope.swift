import ZakOpsCore

/// What a transaction knows besides its connection, for code that receives only the
/// transaction's `SQLDatabase`: the audit trail's signing keys of the database it runs on.
///
/// A task-local value, bound by `Database.transaction` for the length of its work: every audit
/// entry is written by `AuditLog.record(…, in: sql)` deep inside services, and threading the
/// keys through every one of those calls would say nothing more than "the database's keys".
/// Being task-local, two databases in one process (tests run many) never see each other's keys.
public enum TransactionScope {
    @TaskLocal public static var auditKeys: KeyRing?
}
