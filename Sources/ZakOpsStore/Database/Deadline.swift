import Synchronization

/// Marks the moment `work` has its connection; from then on the deadline no longer applies.
final class LeaseFlag: Sendable {
    private let leased = Atomic<Bool>(false)

    func markLeased() { leased.store(true, ordering: .releasing) }
    var isLeased: Bool { leased.load(ordering: .acquiring) }
}

/// Runs `work`, giving up with `StoreError.unavailable` if it has not obtained a connection
/// within `limit`.
///
/// Only the wait for a connection is bounded here: PostgresNIO's pool retries an unreachable
/// server indefinitely, and a request must get a prompt 503 instead. Once `work` has its
/// connection it runs to completion (statements are bounded by the server's
/// `statement_timeout`/`lock_timeout`, or SQLite's `busy_timeout`), so a 503 never hides a
/// change that then commits.
func withLeaseDeadline<T: Sendable>(
    _ limit: Duration,
    _ work: @escaping @Sendable (LeaseFlag) async throws -> T
) async throws -> T {
    let flag = LeaseFlag()
    return try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await work(flag) }
        group.addTask {
            try await Task.sleep(for: limit)
            return nil
        }
        while let result = try await group.next() {
            if let value = result {
                group.cancelAll()
                return value
            }
            if !flag.isLeased {
                group.cancelAll()
                throw StoreError.unavailable(reason: "no connection within \(limit)")
            }
        }
        throw StoreError.unavailable(reason: "the database operation ended without a result")
    }
}
