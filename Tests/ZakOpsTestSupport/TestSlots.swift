import Foundation
import Testing

/// Bounds how many tests run a server, a database or a `zakops` child at once.
///
/// Swift Testing starts every test of the suite at the same time. On two cores that put all
/// 170 servers, their database pools and one shared bcrypt pool in flight together: each
/// request waited behind the whole suite's work, so on a slower machine some waited longer than
/// the client's 20 s read timeout (`.readTimeout` in a different test each run, PostgreSQL
/// phase). With a few tests in flight a request waits behind a few tests' work, whatever the
/// machine's speed, and the suite takes as long as before: it was bound by CPU and waits, not
/// by the number of tests started.
///
/// A test takes its slot when it first starts a server, a database or a child
/// (`TestServer.run`, `TestDatabase.fresh`, `ZakOpsProcess`) and keeps it until it ends, so
/// tests of pure logic never wait. The suites that start them carry the `.serverSlot` trait,
/// which gives each test case its lease; those helpers refuse to run without one, so a new
/// suite cannot forget it. `ZAKOPS_TEST_SLOTS` sets the width (default 6).
public enum TestSlots {
    @TaskLocal static var lease: Lease?

    public static let width = max(1, Int(ProcessInfo.processInfo.environment["ZAKOPS_TEST_SLOTS"] ?? "") ?? 6)
    fileprivate static let gate = Gate(width: width)

    /// Takes the calling test's slot if it has not yet; fails when the test has no lease.
    public static func enter(_ what: String) async throws {
        guard let lease else {
            throw TestSetupError("\(what) needs a test slot: give the suite the .serverSlot trait")
        }
        try await lease.enter()
    }

    /// One test case's claim on a slot: taken at the first `enter`, given back at the end.
    actor Lease {
        private var acquisition: Task<Void, Never>?
        private var ended = false

        /// Takes the slot at the first call. After the test has ended (a task it left behind)
        /// it refuses: a slot taken then would never be given back.
        func enter() async throws {
            guard !ended else { throw TestSetupError("the test has ended: no server may be started for it") }
            if acquisition == nil { acquisition = Task { await TestSlots.gate.acquire() } }
            await acquisition?.value
        }

        func end() async {
            ended = true
            guard let acquisition else { return }
            await acquisition.value
            await TestSlots.gate.release()
        }
    }

    /// A counting semaphore that wakes waiters in arrival order.
    fileprivate actor Gate {
        private var free: Int
        private var waiters: [CheckedContinuation<Void, Never>] = []

        init(width: Int) { free = width }

        func acquire() async {
            if free > 0 {
                free -= 1
                return
            }
            await withCheckedContinuation { waiters.append($0) }
        }

        func release() {
            if waiters.isEmpty {
                free += 1
            } else {
                waiters.removeFirst().resume()
            }
        }
    }
}

/// Each test case of the suite (every argument of a parameterized test) gets a lease.
public struct ServerSlotTrait: SuiteTrait, TestTrait, TestScoping {
    public var isRecursive: Bool { true }

    public func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        // The suite and the test function as a whole get none: their cases take one each.
        guard testCase != nil, TestSlots.lease == nil else { return try await function() }
        let lease = TestSlots.Lease()
        do {
            try await TestSlots.$lease.withValue(lease) { try await function() }
            await lease.end()
        } catch {
            await lease.end()
            throw error
        }
    }
}

extension Trait where Self == ServerSlotTrait {
    /// The suite's tests start servers, databases or `zakops` children (see `TestSlots`).
    public static var serverSlot: Self { ServerSlotTrait() }
}
