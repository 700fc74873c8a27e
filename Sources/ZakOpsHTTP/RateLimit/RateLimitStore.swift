/// Where request counts live. The in-memory store serves one instance; `SharedRateLimitStore`
/// shares the counts between every instance of a deployment.
public protocol RateLimitStore: Sendable {
    /// Counts one request for `key` (already prefixed with its policy's name) in the window
    /// that starts at `windowStart` (Unix seconds) and returns its position in the window: the
    /// request is allowed when the position is at most `limit`.
    func record(key: String, windowStart: Int64, windowSeconds: Int, limit: Int) async throws -> Int

    /// Whether this instance already knows that the key's next request in the window is over
    /// `limit`. Counts nothing and never asks a shared store: a refusal on this answer costs
    /// no round trip.
    func isExhausted(key: String, windowStart: Int64, limit: Int) -> Bool
}

/// A counter every instance shares (a database table): adds `amount` to the key's count in
/// the window, atomically, and returns the new total.
public protocol SharedRateLimitCounter: Sendable {
    func add(_ amount: Int, key: String, windowStart: Int64) async throws -> Int
}
