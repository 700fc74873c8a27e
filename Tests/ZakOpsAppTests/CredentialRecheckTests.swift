import Foundation
import Synchronization
import Testing
import ZakOpsCore
import ZakOpsTestSupport
@testable import ZakOpsApp

/// The heartbeat's credential checks: one per credential at a time, never reused for long.
@Suite("Shared credential rechecks", .serverSlot)
struct CredentialRecheckTests {
    static let principal = Principal(id: "op_1", kind: .user, role: .viewer, email: "a@example.com", name: "A", permissions: [],
                                     sessionID: nil, sessionTokenHash: nil, mustResetPassword: false)

    @Test("streams of one credential share a check; another credential gets its own; a later heartbeat checks again")
    func sharesOneCheck() async throws {
        let rechecks = CredentialRecheck(reuse: .milliseconds(300))
        let runs = Atomic<Int>(0)
        let check: @Sendable () async throws -> Principal? = {
            runs.add(1, ordering: .relaxed)
            try await Task.sleep(for: .milliseconds(50))
            return Self.principal
        }
        let results = try await withThrowingTaskGroup(of: Principal?.self) { group in
            for _ in 0..<200 { group.addTask { try await rechecks.principal(for: "session:a", check) } }
            return try await group.reduce(into: [Principal?]()) { $0.append($1) }
        }
        #expect(results.count == 200 && results.allSatisfy { $0?.id == "op_1" })
        #expect(runs.load(ordering: .relaxed) == 1)
        _ = try await rechecks.principal(for: "session:b", check)
        #expect(runs.load(ordering: .relaxed) == 2)
        // After the reuse window (far shorter than a heartbeat) the credential is checked anew,
        // so a revocation is seen, and old entries are dropped.
        try await Task.sleep(for: .milliseconds(400))
        let revoked: @Sendable () async throws -> Principal? = { runs.add(1, ordering: .relaxed); return nil }
        #expect(try await rechecks.principal(for: "session:a", revoked) == nil)
        #expect(runs.load(ordering: .relaxed) == 3)
        #expect(rechecks.count == 1)
    }
}
