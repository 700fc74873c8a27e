import Foundation
import Hummingbird
import Logging
import Metrics
import ZakOpsCore

/// Applies rate-limit policies with fixed windows over a `RateLimitStore`.
///
/// Fixed windows are what the checklist's "10/min" means to an operator reading a log, and
/// they need one atomic increment per request in a shared store. The price is that a client
/// can fit up to twice the limit around a window boundary; the login backoff, not the rate
/// limit, is what stops password guessing.
public struct RateLimiter: Sendable {
    let store: any RateLimitStore
    let clock: any AppClock

    public init(store: any RateLimitStore, clock: any AppClock) {
        self.store = store
        self.clock = clock
    }

    /// Counts the request and returns the verdict, without acting on it.
    public func check(_ policy: RateLimitPolicy, key: String) async throws -> RateLimitOutcome {
        let (windowStart, reset) = window(policy)
        let count = try await store.record(key: policy.keyPrefix + key, windowStart: windowStart, windowSeconds: policy.windowSeconds, limit: policy.limit)
        return RateLimitOutcome(policy: policy, allowed: count <= policy.limit, remaining: max(0, policy.limit - count), resetSeconds: reset)
    }

    /// The current window of the policy: when it started (Unix seconds) and the seconds left.
    private func window(_ policy: RateLimitPolicy) -> (start: Int64, resetSeconds: Int) {
        let now = clock.now().timeIntervalSince1970
        let length = Int64(policy.windowSeconds)
        let start = Int64(now.rounded(.down)) / length * length
        return (start, max(1, Int((Double(start + length) - now).rounded(.up))))
    }

    /// Whether the key is known to be over the policy's limit in the current window (counts
    /// nothing; no round trip to a shared store).
    public func isExhausted(_ policy: RateLimitPolicy, key: String) -> Bool {
        store.isExhausted(key: policy.keyPrefix + key, windowStart: window(policy).start, limit: policy.limit)
    }

    /// Refuses with 429 at once, as `enforce` does over the limit, when the key is known to be
    /// over it (`isExhausted`); counts nothing.
    public func refuseIfExhausted(_ policy: RateLimitPolicy, key: String, context: AppRequestContext) throws {
        guard isExhausted(policy, key: key) else { return }
        let reset = window(policy).resetSeconds
        throw refusal(policy, headers: RateLimitOutcome(policy: policy, allowed: false, remaining: 0, resetSeconds: reset).headers,
                      resetSeconds: reset, context: context)
    }

    /// Counts the request; over the limit it logs a security event, counts the violation and
    /// throws 429 `RATE_LIMITED` with `Retry-After`. Returns the verdict for an allowed request.
    @discardableResult
    public func enforce(_ policy: RateLimitPolicy, key: String, context: AppRequestContext) async throws -> RateLimitOutcome {
        let outcome = try await check(policy, key: key)
        guard outcome.allowed else {
            throw refusal(policy, headers: outcome.headers, resetSeconds: outcome.resetSeconds, context: context)
        }
        return outcome
    }

    /// The 429: logged as a security event, counted, with `Retry-After`.
    private func refusal(_ policy: RateLimitPolicy, headers: [String: String], resetSeconds: Int, context: AppRequestContext) -> AppError {
        context.logger.warning("security event", metadata: [
            "event": "rate_limited", "group": .string(policy.name),
            "client_ip": .string(context.clientIP ?? "unknown"),
            "principal_id": .string(context.principal?.id ?? "anonymous"),
        ])
        Counter(label: "zakops_rate_limited_total", dimensions: [("group", policy.name)]).increment()
        var headers = headers
        headers["Retry-After"] = String(resetSeconds)
        return AppError(.rateLimited, headers: headers, logDetail: "rate limit \(policy.name)")
    }
}
