import Foundation
import HummingbirdOTP
import Logging
import Metrics
import ZakOpsCore
import ZakOpsStore

/// Time-based one-time codes (RFC 6238, 30-second steps, ±1 step of drift) that can be used
/// once: a code's step must be later than the last one accepted.
struct TOTPVerifier: Sendable {
    let repository: IdentityRepository
    let clock: any AppClock

    /// Checks `code` for the account and records the outcome atomically: the step on success,
    /// a failure (towards the lockout) for a wrong, malformed or replayed code.
    func consume(code: String, account: OperatorRecord) async throws -> IdentityRepository.TOTPAttempt {
        guard let secret = account.totpSecret else { return .rejected }
        let step = Self.matchingStep(code: code, secret: secret, at: clock.now())
        return try await repository.attemptTOTP(operatorID: account.id, step: step, now: clock.now())
    }

    /// The 30-second step within ±1 of `date` whose code is `code`, if any.
    static func matchingStep(code: String, secret: String, at date: Date) -> Int64? {
        guard code.count == 6, code.allSatisfy(\.isASCII), let value = Int(code) else { return nil }
        let totp = TOTP(secret: secret)
        for offset in [-1, 0, 1] {
            let moment = date.addingTimeInterval(TimeInterval(offset * 30))
            if totp.compute(date: moment) == value {
                return Int64(moment.timeIntervalSince1970) / 30
            }
        }
        return nil
    }
}
