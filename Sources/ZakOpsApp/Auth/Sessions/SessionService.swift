import Foundation
import Logging
import SQLKit
import ZakOpsCore
import ZakOpsStore

/// Creates, resolves and revokes sessions. A session is a 256-bit random token in the cookie;
/// the database keeps its SHA-256 only. It ends at the absolute limit (24 h) or after the idle
/// timeout, both checked here on every request against the clock. A session found is answered
/// from `credentials` for up to `AUTH_CACHE_SECONDS`: a revocation here is effective at the next
/// request, one made elsewhere within that bound (at once on PostgreSQL, through the notice).
struct SessionService: Sendable {
    let database: Database
    let clock: any AppClock
    let maxAge: Duration
    let idleTimeout: Duration
    let credentials: CredentialCache
    let lastSeen: LastSeenRecorder
    let logger: Logger

    /// A new session for the operator, provided their password is still `verifiedHash`, the
    /// account is active and no forced reset is pending (checked under the row's lock: a sign-in
    /// racing a forced reset or the auth-breach playbook gets no session); returns the cookie
    /// token and the record, or nil.
    func create(operatorID: String, verifiedHash: String, clientIP: String?, userAgent: String?) async throws -> (token: String, record: SessionRecord)? {
        let token = Base64URL.encode(Data(RandomToken.bytes(32)))
        let now = clock.now()
        let record = SessionRecord(
            tokenHash: Digest.sha256Hex(token),
            id: PublicID.make(.session),
            operatorID: operatorID,
            createdAt: Timestamp.string(from: now),
            lastSeenAt: Timestamp.string(from: now),
            expiresAt: Timestamp.string(from: now.addingTimeInterval(seconds(maxAge))),
            clientIP: clientIP,
            userAgent: userAgent.map { String($0.prefix(256)) }
        )
        let inserted = try await database.transaction { sql in
            guard let current = try await OperatorRepository.lockCredentials(operatorID, in: sql),
                  current.isActive, !current.resetRequired, current.passwordHash == verifiedHash else { return false }
            try await SessionRepository.insert(record, in: sql)
            return true
        }
        guard inserted else { return nil }
        logger.notice("security event", metadata: ["event": "session_created", "operator_id": .string(operatorID), "session_id": .string(record.id)])
        return (token, record)
    }

    /// The principal for the session whose cookie token has this SHA-256, or nil when the
    /// session is unknown, expired, idle too long, or its operator is disabled. Expired
    /// sessions are deleted.
    func resolve(tokenHash hash: String) async throws -> Principal? {
        let key = CredentialCache.sessionKey(hash)
        let found = try await credentials.value(for: key) { [database] in
            guard let (session, account) = try await database.read({ sql in try await SessionRepository.withOperator(tokenHash: hash, in: sql) })
            else { return nil }
            return CredentialCache.Found(value: .session(session, account), subject: account.id)
        }
        guard case .session(let session, let account)? = found?.value else { return nil }
        let now = clock.now()
        let nowText = Timestamp.string(from: now)
        let idleLimit = Timestamp.string(from: now.addingTimeInterval(-seconds(idleTimeout)))
        if session.expiresAt <= nowText || session.lastSeenAt < idleLimit || !account.isActive || account.resetRequired {
            try await end(tokenHash: hash)
            logger.notice("security event", metadata: ["event": "session_expired", "operator_id": .string(account.id), "session_id": .string(session.id)])
            return nil
        }
        // The idle clock moves at most once a minute, written after the response (LastSeenRecorder).
        if session.lastSeenAt < Timestamp.string(from: now.addingTimeInterval(-LastSeenRecorder.interval)) {
            lastSeen.sessionSeen(tokenHash: hash, at: now)
            credentials.touch(key, at: nowText)
        }
        return account.principal(session: session)
    }

    /// Ends the session with this token hash (logout, a brought cookie at login, expiry).
    func end(tokenHash: String, by change: ChangeContext? = nil) async throws {
        try await database.transaction { sql in
            try await SessionRepository.delete(tokenHash: tokenHash, in: sql)
            if let change {
                try await AuditLog.record(action: "auth.logout", targetKind: "operator", targetID: change.actorID, changes: [:], context: change, in: sql)
            }
            try await CredentialNotice.announce(.credential(CredentialCache.sessionKey(tokenHash)), in: sql)
        }
        credentials.invalidate(key: CredentialCache.sessionKey(tokenHash))
    }

    /// Ends one of the operator's sessions by its public id; false if there is no such session of theirs.
    func end(id: String, operatorID: String, by change: ChangeContext? = nil) async throws -> Bool {
        let ended = try await database.transaction { sql in
            let ended = try await SessionRepository.delete(id: id, operatorID: operatorID, in: sql)
            if ended { try await CredentialNotice.announce(.subject(operatorID), in: sql) }
            if ended, let change {
                try await AuditLog.record(action: "auth.session_revoked", targetKind: "session", targetID: id, changes: [:], context: change, in: sql)
            }
            return ended
        }
        credentials.invalidate(subject: operatorID)
        return ended
    }

    /// Ends every session of the operator but the one with `keeping` as token hash.
    func endAll(operatorID: String, keeping: String?, by change: ChangeContext? = nil) async throws {
        try await database.transaction { sql in
            try await Self.endAll(operatorID: operatorID, keeping: keeping, in: sql)
            if let change {
                try await AuditLog.record(action: "auth.sessions_revoked", targetKind: "operator", targetID: operatorID, changes: [:], context: change, in: sql)
            }
        }
        credentials.invalidate(subject: operatorID)
    }

    /// Ends the operator's sessions inside the caller's transaction (a password change, a
    /// reset, disabling) and tells the other instances when it commits. The caller then drops
    /// the operator from its own cache, if it has one.
    static func endAll(operatorID: String, keeping: String? = nil, in sql: any SQLDatabase) async throws {
        try await SessionRepository.deleteAll(operatorID: operatorID, keeping: keeping, in: sql)
        try await CredentialNotice.announce(.subject(operatorID), in: sql)
    }

    /// The operator's sessions, newest first.
    func list(operatorID: String) async throws -> [SessionRecord] {
        try await database.read { sql in try await SessionRepository.list(operatorID: operatorID, in: sql) }
    }

    private func seconds(_ duration: Duration) -> TimeInterval {
        TimeInterval(duration.components.seconds)
    }
}
