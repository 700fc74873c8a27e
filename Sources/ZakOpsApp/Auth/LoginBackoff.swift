import Foundation
import SQLKit
import ZakOpsCore
import ZakOpsStore

/// A growing delay after repeated failed logins for one e-mail address, across every source
/// address and every instance (the state is in the database):
///
/// - the first five failures cost nothing;
/// - each failure after that locks the address for 1 minute, then 2, 4, 8, capped at 15;
/// - while locked, attempts get 429 `RATE_LIMITED` with `Retry-After` without a password check;
/// - a success, or a completed password reset, clears the count; failures a day old are forgotten.
///
/// Unknown addresses are counted exactly like known ones, so the delay says nothing about
/// whether an account exists. The lock always ends, so nobody can shut a user out for good,
/// and the password reset keeps working while it holds.
struct LoginBackoff: Sendable {
    static let freeFailures = 5
    static let firstDelay: TimeInterval = 60
    static let maximumDelay: TimeInterval = 15 * 60
    /// How long a failure is remembered without a further one.
    static let memory: TimeInterval = 24 * 60 * 60

    let database: Database
    let clock: any AppClock
    let enabled: Bool

    /// The key of an address: SHA-256 of its lower-cased form (no address is stored).
    static func subject(_ email: String) -> String {
        Digest.sha256Hex(email.lowercased())
    }

    /// The delay a further failure after `failures` failures imposes, if any.
    static func delay(afterFailures failures: Int) -> TimeInterval? {
        guard failures >= freeFailures else { return nil }
        let doublings = min(failures - freeFailures, 10)
        return min(firstDelay * pow(2, Double(doublings)), maximumDelay)
    }

    /// Seconds left of the address's delay, or nil when it may try now.
    func remainingDelay(email: String) async throws -> Int? {
        guard enabled else { return nil }
        let now = clock.now()
        let lockedUntil = try await database.read { sql in
            try await sql.select().column("locked_until").from("login_failures")
                .where("subject_hash", .equal, SQLBind(Self.subject(email)))
                .first(decodingColumn: "locked_until", as: String?.self)
        }
        guard let text = lockedUntil ?? nil, let until = Timestamp.date(from: text), until > now else { return nil }
        return max(1, Int(until.timeIntervalSince(now).rounded(.up)))
    }

    /// Counts a failure; returns the delay it started, if any.
    @discardableResult
    func recordFailure(email: String) async throws -> TimeInterval? {
        guard enabled else { return nil }
        let now = clock.now()
        let subject = Self.subject(email)
        return try await database.transaction { sql in
            let failures = try await sql.insert(into: "login_failures")
                .columns("subject_hash", "failures", "last_failure_at", "locked_until")
                .values(SQLBind(subject), SQLBind(1), SQLBind(Timestamp.string(from: now)), SQLBind(String?.none))
                .onConflict(with: ["subject_hash"]) { update in
                    update.set("failures", to: SQLBinaryExpression(SQLColumn("failures", table: "login_failures"), .add, SQLLiteral.numeric("1")))
                        .set("last_failure_at", to: SQLBind(Timestamp.string(from: now)))
                }
                .returning("failures")
                .first(decodingColumn: "failures", as: Int.self) ?? 1
            guard let delay = Self.delay(afterFailures: failures) else { return nil }
            try await sql.update("login_failures")
                .set("locked_until", to: SQLBind(Timestamp.string(from: now.addingTimeInterval(delay))))
                .where("subject_hash", .equal, SQLBind(subject))
                .run()
            return delay
        }
    }

    /// Forgets the address's failures (successful login, completed reset).
    func clear(email: String) async throws {
        guard enabled else { return }
        try await database.autocommit { sql in
            try await sql.delete(from: "login_failures").where("subject_hash", .equal, SQLBind(Self.subject(email))).run()
        }
    }
}
