/// Runs `work` in a child task and returns its result.
///
/// A task keeps the stack slabs its deepest call needed until the task ends. A connection's task
/// lives as long as the connection, so work with deep async frames (the middleware chain, a
/// database query) run directly in it left about 30 KiB allocated per open connection or event
/// stream; in a child task the slabs go back when the work is done.
public func inChildTask<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await work() }
        guard let result = try await group.next() else { throw CancellationError() }
        return result
    }
}
