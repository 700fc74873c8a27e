import Foundation
import HummingbirdOTP
import Logging
import Metrics
import ZakOpsCore
import ZakOpsStore

/// The code check itself (RFC 6238, 30-second steps, ±1 step of drift); `TOTPService` adds the
/// rule that a code's step must be later than the last one accepted.
enum TOTPVerifier {
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
