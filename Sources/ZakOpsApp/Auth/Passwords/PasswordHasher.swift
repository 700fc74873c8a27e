import Dispatch
import Foundation
import HummingbirdBcrypt
import NIOCore
import NIOPosix
import Synchronization
import ZakOpsCore

/// bcrypt hashing and verification, off the event loops and bounded.
///
/// Work runs on a dedicated thread pool (never on an event loop or the cooperative pool); at
/// most `maximumWaiting` requests wait for it, and more get 503 with `Retry-After`, so a login
/// flood costs the flooder, not every other request.
public final class PasswordHasher: Sendable {
    public let cost: Int
    private let pool: NIOThreadPool
    private let waiting = Atomic<Int>(0)
    private let maximumWaiting: Int
    /// Verified against when the account does not exist, so that path does the same work.
    private let dummyHash: String

    /// The nice value of the hashing threads in production: the lowest priority, measured best
    /// for the rest of the server under a login flood (docs/decisions.md). The price: on cores
    /// kept busy by normal-priority work, logins get little CPU and wait.
    public static let defaultNiceness: Int32 = 19

    /// - Parameters:
    ///   - cost: bcrypt cost for new hashes (never below 10).
    ///   - threads: threads hashing at once.
    ///   - niceness: the hashing threads' nice value (0 leaves them at normal priority).
    public init(cost: Int, threads: Int = max(1, System.coreCount / 2), maximumWaiting: Int = 64, niceness: Int32 = PasswordHasher.defaultNiceness) {
        self.cost = max(10, cost)
        self.maximumWaiting = maximumWaiting
        pool = NIOThreadPool(numberOfThreads: threads)
        pool.start()
        if niceness > 0 { Self.lowerPriority(of: pool, threads: threads, niceness: niceness) }
        dummyHash = Bcrypt.hash(RandomToken.base32(RandomToken.bytes(16)), cost: UInt8(max(10, cost)))
    }

    deinit {
        pool.shutdownGracefully { _ in }
    }

    /// A new bcrypt hash of `password`.
    public func hash(_ password: String) async throws -> String {
        let cost = UInt8(self.cost)
        return try await run { Bcrypt.hash(password, cost: cost) }
    }

    /// Whether `password` matches `hash`; with no hash (unknown account) it verifies against a
    /// dummy hash of the same cost and answers false. `needsRehash` is true for a hash made
    /// with a lower cost than the current one.
    public func verify(_ password: String, against hash: String?) async throws -> (matches: Bool, needsRehash: Bool) {
        let target = hash ?? dummyHash
        let matches = try await run { Bcrypt.verify(password, hash: target) }
        guard let hash, matches else { return (false, false) }
        return (true, Self.cost(of: hash).map { $0 < cost } ?? false)
    }

    /// The cost recorded in a `$2b$12$…` hash.
    static func cost(of hash: String) -> Int? {
        let parts = hash.split(separator: "$")
        guard parts.count >= 3 else { return nil }
        return Int(parts[1])
    }

    /// Gives every hashing thread a lower scheduling priority, so that when the cores are busy
    /// the event loops answering other requests run first and a login flood slows logins, not
    /// the rest of the server. One job per thread, held at a barrier until all have started, so
    /// each thread runs exactly one.
    private static func lowerPriority(of pool: NIOThreadPool, threads: Int, niceness: Int32) {
        #if os(Linux)
        let started = DispatchGroup()
        let release = DispatchSemaphore(value: 0)
        for _ in 0..<threads {
            started.enter()
            pool.submit { _ in
                // On Linux the nice value is per thread; `who` 0 is the calling thread.
                _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, niceness)
                started.leave()
                release.wait()
            }
        }
        started.wait()
        for _ in 0..<threads { release.signal() }
        #endif
    }

    private func run<T: Sendable>(_ work: @escaping @Sendable () -> T) async throws -> T {
        let queued = waiting.add(1, ordering: .relaxed).newValue
        defer { waiting.subtract(1, ordering: .relaxed) }
        guard queued <= maximumWaiting else {
            throw AppError(.serviceUnavailable, headers: ["Retry-After": "1"], logDetail: "password hashing queue full")
        }
        return try await pool.runIfActive(work)
    }
}
