/// Where request counts live. The in-memory store serves one instance; a database-backed store
/// shares the counts between every instance of a deployment.
public protocol RateLimitStore: Sendable {
    /// Counts one request for `key` (already prefixed with its policy's name) in the window
    /// that starts at `windowStart` (Unix seconds) and returns the window's count including it.
    func record(key: String, windowStart: Int64, windowSeconds: Int) async throws -> Int
}
