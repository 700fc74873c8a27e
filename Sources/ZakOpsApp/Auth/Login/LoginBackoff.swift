import Foundation
import SQLKit
import ZakOpsCore
import ZakOpsStore

/// A growing delay after repeated failed logins for one e-mail address, across every source
/// address and every instance (the state is in the database):
///
/// - the first four failures cost nothing;
/// - the fifth locks the address for 1 minute, and each failure after a lock ends locks it
///   again for twice as long: 2, 4, 8, capped at 15 minutes;
/// - while locked, attempts get 429 `RATE_LIMITED` with `Retry-After` without a password check;
/// - every failed login counts (a wrong password, a wrong or missing one-time code);
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

    /// What `admit` decided.
    enum Admission: Sendable, Equatable {
        /// The attempt may check its credentials; it is already counted as a failure, and a
        /// success takes it back (`clear`). `startedDelay` is the delay it starts if it fails.
        case admitted(startedDelay: TimeInterval?)
        /// The address is in its delay for this many more seconds.
        case delayed(seconds: Int)
    }

    /// Admits an attempt or refuses it, atomically: the attempt is counted, and the delay it
    /// would start is set, before any password is checked. Counted afterwards, a burst of
    /// parallel attempts sent the moment a delay ends would all pass the check and all get a
    /// guess; counted first, the first of them starts the next delay and the rest wait.
    func admit(email: String) async throws -> Admission {
        guard enabled else { return .admitted(startedDelay: nil) }
        let now = clock.now()
        let stamp = Timestamp.string(from: now)
        let subject = Self.subject(email)
        return try await database.transaction { sql in
            if let text = try await LoginFailureRepository.lockedUntil(subject: subject, in: sql), let until = Timestamp.date(from: text), until > now {
                // Less the millisecond the stored text may have rounded up.
                return .delayed(seconds: max(1, Int((until.timeIntervalSince(now) - 0.001).rounded(.up))))
            }
            let failures = try await LoginFailureRepository.countFailure(subject: subject, at: stamp, in: sql)
            let delay = Self.delay(afterFailures: failures)
            if let delay {
                try await LoginFailureRepository.delay(subject: subject, until: Timestamp.string(from: now.addingTimeInterval(delay)), in: sql)
            }
            return .admitted(startedDelay: delay)
        }
    }

    /// Forgets the address's failures (successful login, completed reset).
    func clear(email: String) async throws {
        guard enabled else { return }
        try await database.autocommit { sql in
            try await LoginFailureRepository.clear(subject: Self.subject(email), in: sql)
        }
    }
}
