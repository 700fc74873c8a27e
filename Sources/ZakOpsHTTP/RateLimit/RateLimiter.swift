import Foundation
import Hummingbird
import Logging
import Metrics
import ZakOpsCore

/// Applies rate-limit policies with rolling windows over a `RateLimitStore`: in any span of the
/// policy's window (a minute) at most its limit of requests is allowed, wherever the span
/// starts (`RateWindow`). Fixed windows let twice the limit through around a boundary.
public struct RateLimiter: Sendable {
    let store: any RateLimitStore
    let clock: any AppClock

    public init(store: any RateLimitStore, clock: any AppClock) {
        self.store = store
        self.clock = clock
    }

    /// Counts the request and returns the verdict, without acting on it.
    public func check(_ policy: RateLimitPolicy, key: String) async throws -> RateLimitOutcome {
        let (window, reset) = window(policy)
        let count = try await store.record(key: policy.keyPrefix + key, window: window, limit: policy.limit)
        return RateLimitOutcome(policy: policy, allowed: count <= policy.limit, remaining: max(0, policy.limit - count), resetSeconds: reset)
    }

    /// The policy's current bucket, and the seconds until the next one: the earliest moment
    /// an old request leaves the window and a refused client may be allowed again.
    private func window(_ policy: RateLimitPolicy) -> (window: RateWindow, resetSeconds: Int) {
        let now = clock.now().timeIntervalSince1970
        let window = RateWindow(now: now, windowSeconds: policy.windowSeconds)
        return (window, max(1, Int((Double(window.bucket + window.bucketSeconds) - now).rounded(.up))))
    }

    /// Whether the key is known to be over the policy's limit in the current window (counts
    /// nothing; no round trip to a shared store).
    public func isExhausted(_ policy: RateLimitPolicy, key: String) -> Bool {
        store.isExhausted(key: policy.keyPrefix + key, window: window(policy).window, limit: policy.limit)
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
        RefusalConcentration.shared.record(client: context.clientIP ?? "unknown", at: clock.now())
        var headers = headers
        headers["Retry-After"] = String(resetSeconds)
        return AppError(.rateLimited, headers: headers, logDetail: "rate limit \(policy.name)")
    }
}
