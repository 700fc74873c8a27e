import Foundation

/// When a failed delivery is tried again: exponential from the base to the maximum, with "full
/// jitter" (a random point in the window), so that a receiver coming back is not hit by every
/// retry at the same instant.
struct OutboxBackoff: Sendable {
    let base: TimeInterval
    let maximum: TimeInterval
    let maxAttempts: Int

    /// The delay before attempt `attempts + 1`, after `attempts` failures (at least 1).
    func delay(afterFailures attempts: Int, random: Double = Double.random(in: 0...1)) -> TimeInterval {
        let exponent = min(max(attempts - 1, 0), 30)
        let window = min(maximum, base * pow(2, Double(exponent)))
        // Never less than half the window: jitter spreads retries without making them instant.
        return window / 2 + window / 2 * random
    }

    /// Whether a row that has failed `attempts` times is dead (moves to the DLQ).
    func isDead(afterFailures attempts: Int) -> Bool { attempts >= maxAttempts }
}
