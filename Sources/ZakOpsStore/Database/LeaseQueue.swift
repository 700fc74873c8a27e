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
        var closed = false
    }

    private let state: Mutex<State>
    private let all: [Connection]

    init(_ connections: [Connection]) {
        state = Mutex(State(idle: connections))
        all = connections
    }

    /// Runs `work` with a leased connection and returns it afterwards, whatever `work` does.
    func withConnection<T: Sendable>(_ work: (Connection) async throws -> T) async throws -> T {
        try await use(try await lease(), work)
    }

    /// Runs `work` at once if a connection is idle, or returns nil without running it. The
    /// common case then needs no deadline (a timer task per query was a visible cost).
    func withIdleConnection<T: Sendable>(_ work: (Connection) async throws -> T) async throws -> T? {
        guard let connection = state.withLock({ $0.closed ? nil : $0.idle.popLast() }) else { return nil }
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
            if state.closed { return .closed }
            if let connection = state.idle.popLast() { return .leased(connection) }
            state.nextWaiterID += 1
            return .wait(state.nextWaiterID)
        }
        switch step {
        case .leased(let connection): return connection
        case .closed: throw StoreError.unavailable(reason: "pool closed")
        case .wait(let id):
            return try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { continuation in
                    // A connection may have come back, or the task been cancelled, meanwhile.
                    let now = state.withLock { state -> Result<Connection, any Error>? in
                        if state.closed { return .failure(StoreError.unavailable(reason: "pool closed")) }
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
        }
    }

    private func release(_ connection: Connection) {
        let waiter = state.withLock { state -> Waiter? in
            if !state.waiters.isEmpty { return state.waiters.removeFirst() }
            state.idle.append(connection)
            return nil
        }
        waiter?.continuation.resume(returning: connection)
    }

    /// Refuses leases from now on, fails the waiting ones, and returns every connection for the
    /// caller to close.
    func close() -> [Connection] {
        let waiters = state.withLock { state -> [Waiter] in
            state.closed = true
            state.idle.removeAll()
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.continuation.resume(throwing: StoreError.unavailable(reason: "pool closed")) }
        return all
    }
}
