import Synchronization

/// Connections leased one task at a time, under a lock: a lease and its return are a few
/// instructions on the caller's thread (an actor cost two executor hops per query).
final class LeaseQueue<Connection: Sendable>: Sendable {
    private struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<Connection, any Error>
    }

    private struct State {
        var idle: [Connection]
        var waiters: [Waiter] = []
        var nextWaiterID: UInt64 = 0
        /// Set by `close`: connections are closed with it as they come back.
        var closer: (@Sendable (Connection) -> Void)?
    }

    private let state: Mutex<State>

    init(_ connections: [Connection]) {
        state = Mutex(State(idle: connections))
    }

    /// Runs `work` with a leased connection and returns it afterwards, whatever `work` does.
    func withConnection<T: Sendable>(_ work: (Connection) async throws -> T) async throws -> T {
        try await use(try await lease(), work)
    }

    /// Runs `work` at once if a connection is idle, or returns nil without running it. The
    /// common case then needs no deadline (a timer task per query was a visible cost).
    func withIdleConnection<T: Sendable>(_ work: (Connection) async throws -> T) async throws -> T? {
        guard let connection = state.withLock({ $0.closer != nil ? nil : $0.idle.popLast() }) else { return nil }
        return try await use(connection, work)
    }

    private func use<T: Sendable>(_ connection: Connection, _ work: (Connection) async throws -> T) async throws -> T {
        do {
            let result = try await work(connection)
            release(connection)
            return result
        } catch {
            release(connection)
            throw error
        }
    }

    private enum Step {
        case leased(Connection)
        case closed
        case wait(UInt64)
    }

    private func lease() async throws -> Connection {
        let step = state.withLock { state -> Step in
            if state.closer != nil { return .closed }
            if let connection = state.idle.popLast() { return .leased(connection) }
            state.nextWaiterID += 1
            return .wait(state.nextWaiterID)
        }
        switch step {
        case .leased(let connection): return connection
        case .closed: throw StoreError.unavailable(reason: "pool closed")
        case .wait(let id):
            let connection = try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { continuation in
                    // A connection may have come back, or the task been cancelled, meanwhile.
                    let now = state.withLock { state -> Result<Connection, any Error>? in
                        if state.closer != nil { return .failure(StoreError.unavailable(reason: "pool closed")) }
                        if Task.isCancelled { return .failure(CancellationError()) }
                        if let connection = state.idle.popLast() { return .success(connection) }
                        state.waiters.append(Waiter(id: id, continuation: continuation))
                        return nil
                    }
                    if let now { continuation.resume(with: now) }
                }
            } onCancel: {
                let waiter = state.withLock { state -> Waiter? in
                    guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                    return state.waiters.remove(at: index)
                }
                waiter?.continuation.resume(throwing: CancellationError())
            }
            // Handed over just as the wait was given up (a deadline's 503 may already be on its
            // way): the work must not run, so the connection goes back.
            if Task.isCancelled {
                release(connection)
                throw CancellationError()
            }
            return connection
        }
    }

    private enum Next {
        case waiter(Waiter)
        case close(@Sendable (Connection) -> Void)
        case idle
    }

    private func release(_ connection: Connection) {
        let next = state.withLock { state -> Next in
            if let closer = state.closer { return .close(closer) }
            if !state.waiters.isEmpty { return .waiter(state.waiters.removeFirst()) }
            state.idle.append(connection)
            return .idle
        }
        switch next {
        case .waiter(let waiter): waiter.continuation.resume(returning: connection)
        case .close(let closer): closer(connection)
        case .idle: break
        }
    }

    /// Refuses leases from now on and fails the waiting ones; `closer` closes each connection:
    /// the idle ones now, a leased one when its work returns it (never under running work).
    func close(_ closer: @escaping @Sendable (Connection) -> Void) {
        let (waiters, idle) = state.withLock { state -> ([Waiter], [Connection]) in
            state.closer = closer
            defer {
                state.waiters.removeAll()
                state.idle.removeAll()
            }
            return (state.waiters, state.idle)
        }
        for waiter in waiters { waiter.continuation.resume(throwing: StoreError.unavailable(reason: "pool closed")) }
        for connection in idle { closer(connection) }
    }
}
