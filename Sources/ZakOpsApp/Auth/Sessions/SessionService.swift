import Foundation
import Logging
import ZakOpsCore
import ZakOpsStore

/// Creates, resolves and revokes sessions. A session is a 256-bit random token in the cookie;
/// the database keeps its SHA-256 only. It ends at the absolute limit (24 h) or after the idle
/// timeout, both checked here on every request, so revocation and expiry take effect on the
/// next request on every instance.
struct SessionService: Sendable {
    let database: Database
    let clock: any AppClock
    let maxAge: Duration
    let idleTimeout: Duration
    let logger: Logger

    /// Last-seen times are written at most this often per session (one write per request
    /// would turn every read into a write).
    static let touchInterval: TimeInterval = 60

    /// A new session for the operator, provided their password is still `verifiedHash` and the
    /// account is active; returns the cookie token and the record, or nil.
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
                  current.isActive, current.passwordHash == verifiedHash else { return false }
            try await SessionRepository.insert(record, in: sql)
            return true
        }
        guard inserted else { return nil }
        logger.notice("security event", metadata: ["event": "session_created", "operator_id": .string(operatorID), "session_id": .string(record.id)])
        return (token, record)
    }

    /// The principal for a cookie token, or nil when the session is unknown, expired, idle too
    /// long, or its operator is disabled. Expired sessions are deleted.
    func resolve(token: String) async throws -> Principal? {
        let hash = Digest.sha256Hex(token)
        guard let (session, account) = try await database.read({ sql in try await SessionRepository.withOperator(tokenHash: hash, in: sql) }) else { return nil }
        let now = clock.now()
        let nowText = Timestamp.string(from: now)
        let idleLimit = Timestamp.string(from: now.addingTimeInterval(-seconds(idleTimeout)))
        if session.expiresAt <= nowText || session.lastSeenAt < idleLimit || !account.isActive {
            try await end(tokenHash: hash)
            logger.notice("security event", metadata: ["event": "session_expired", "operator_id": .string(account.id), "session_id": .string(session.id)])
            return nil
        }
        let staleBefore = now.addingTimeInterval(-Self.touchInterval)
        if session.lastSeenAt < Timestamp.string(from: staleBefore) {
            try await database.autocommit { sql in try await SessionRepository.touch(tokenHash: hash, now: now, staleBefore: staleBefore, in: sql) }
        }
        return account.principal(session: session)
    }

    /// Ends the session with this token hash (logout, a brought cookie at login, expiry).
    func end(tokenHash: String) async throws {
        try await database.transaction { sql in try await SessionRepository.delete(tokenHash: tokenHash, in: sql) }
    }

    /// Ends one of the operator's sessions by its public id; false if there is no such session of theirs.
    func end(id: String, operatorID: String) async throws -> Bool {
        try await database.transaction { sql in try await SessionRepository.delete(id: id, operatorID: operatorID, in: sql) }
    }

    /// Ends every session of the operator but the one with `keeping` as token hash.
    func endAll(operatorID: String, keeping: String?) async throws {
        try await database.transaction { sql in try await SessionRepository.deleteAll(operatorID: operatorID, keeping: keeping, in: sql) }
    }

    /// The operator's sessions, newest first.
    func list(operatorID: String) async throws -> [SessionRecord] {
        try await database.read { sql in try await SessionRepository.list(operatorID: operatorID, in: sql) }
    }

    private func seconds(_ duration: Duration) -> TimeInterval {
        TimeInterval(duration.components.seconds)
    }
}
