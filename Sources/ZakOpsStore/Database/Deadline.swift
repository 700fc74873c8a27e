/// Runs `work`, giving up after `limit` with `StoreError.unavailable`.
///
/// A pool that cannot connect may wait for a connection indefinitely (PostgresNIO retries with
/// back-off); a request must instead get a prompt 503.
func withDeadline<T: Sendable>(
    _ limit: Duration,
    _ work: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await work() }
        group.addTask {
            try await Task.sleep(for: limit)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else {
            throw StoreError.unavailable(reason: "no answer within \(limit)")
        }
        return value
    }
}
