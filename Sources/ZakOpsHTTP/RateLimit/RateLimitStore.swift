/// Where request counts live. The in-memory store serves one instance; `SharedRateLimitStore`
/// shares the counts between every instance of a deployment.
public protocol RateLimitStore: Sendable {
    /// Counts one request for `key` (already prefixed with its policy's name) in the rolling
    /// window that ends in `window`'s bucket and returns its position: the request is allowed
    /// when the position is at most `limit`. A refused request is not counted.
    func record(key: String, window: RateWindow, limit: Int) async throws -> Int

    /// Whether this instance already knows that the key's next request in the window is over
    /// `limit`. Counts nothing and never asks a shared store: a refusal on this answer costs
    /// no round trip.
    func isExhausted(key: String, window: RateWindow, limit: Int) -> Bool
}

/// A counter every instance shares (a database table).
public protocol SharedRateLimitCounter: Sendable {
    /// Adds `amount` to the key's count in `window`'s bucket, atomically, and returns the
    /// rolling total: the new count of that bucket plus the counts of the older buckets of the
    /// window.
    func add(_ amount: Int, key: String, window: RateWindow) async throws -> Int
}
