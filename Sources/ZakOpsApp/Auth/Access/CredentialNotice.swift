import SQLKit
import ZakOpsStore

/// Tells every instance that credentials changed, so that their caches drop them at once
/// instead of at the end of `AUTH_CACHE_SECONDS`.
///
/// On PostgreSQL the notice is a notification on the `zakops` channel sent inside the revoking
/// transaction: it is delivered when (and only if) the revocation commits, to every instance's
/// listener (`NotificationListener`), the CLI's revocations included. SQLite has no such
/// channel; there the cache's time bound is the only one across processes.
enum CredentialNotice: Equatable, Sendable {
    /// Every credential of an operator or service account.
    case subject(String)
    /// One credential, by its cache key (a session token's hash).
    case credential(String)
    /// Every credential (the auth-breach playbook).
    case everything

    /// Queues the notice in the transaction `sql` (PostgreSQL only).
    static func announce(_ notice: CredentialNotice, in sql: any SQLDatabase) async throws {
        try await NotificationListener.notify(notice.payload, in: sql)
    }

    var payload: String {
        switch self {
        case .subject(let id): "subject:" + id
        case .credential(let key): "credential:" + key
        case .everything: "credentials:all"
        }
    }

    /// The notice a payload carries; nil for anything else (the cache is then emptied).
    init?(payload: String) {
        if payload.hasPrefix("subject:") {
            self = .subject(String(payload.dropFirst("subject:".count)))
        } else if payload.hasPrefix("credential:") {
            self = .credential(String(payload.dropFirst("credential:".count)))
        } else if payload == "credentials:all" {
            self = .everything
        } else {
            return nil
        }
    }

    /// Applies the notice to this instance's cache.
    func apply(to cache: CredentialCache) {
        switch self {
        case .subject(let id): cache.invalidate(subject: id)
        case .credential(let key): cache.invalidate(key: key)
        case .everything: cache.invalidateAll()
        }
    }
}
