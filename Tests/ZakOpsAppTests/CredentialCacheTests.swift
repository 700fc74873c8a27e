import Foundation
import Synchronization
import Testing
import ZakOpsCore
import ZakOpsTestSupport
@testable import ZakOpsApp

/// The credential cache on its own: shared lookups, the time bound, invalidation, the size bound.
@Suite("Credential cache")
struct CredentialCacheTests {
    static func found(_ subject: String) -> CredentialCache.Found {
        let principal = Principal(id: subject, kind: .service, role: .viewer, email: nil, name: "agent", permissions: [])
        return CredentialCache.Found(value: .key(principal, lastUsedAt: nil, expiresAt: "9999-12-31T00:00:00.000Z"), subject: subject)
    }

    static func subject(_ found: CredentialCache.Found?) -> String? { found?.subject }

    @Test("requests of one credential share a lookup; it is answered from memory for the TTL, then looked up again")
    func sharesAndExpires() async throws {
        let cache = CredentialCache(ttl: .milliseconds(300), maxEntries: 100)
        let runs = Atomic<Int>(0)
        let load: @Sendable () async throws -> CredentialCache.Found? = {
            runs.add(1, ordering: .relaxed)
            try await Task.sleep(for: .milliseconds(50))
            return Self.found("sa_1")
        }
        let results = try await withThrowingTaskGroup(of: String?.self) { group in
            for _ in 0..<200 { group.addTask { Self.subject(try await cache.value(for: "k:a", load: load)) } }
            return try await group.reduce(into: [String?]()) { $0.append($1) }
        }
        #expect(results.count == 200 && results.allSatisfy { $0 == "sa_1" })
        #expect(runs.load(ordering: .relaxed) == 1)
        #expect(Self.subject(try await cache.value(for: "k:a", load: load)) == "sa_1")
        #expect(runs.load(ordering: .relaxed) == 1)
        _ = try await cache.value(for: "k:b", load: load)
        #expect(runs.load(ordering: .relaxed) == 2)
        // Past the TTL the credential is looked up again, so a revocation made elsewhere is seen.
        try await Task.sleep(for: .milliseconds(400))
        let revoked: @Sendable () async throws -> CredentialCache.Found? = { runs.add(1, ordering: .relaxed); return nil }
        #expect(try await cache.value(for: "k:a", load: revoked) == nil)
        #expect(runs.load(ordering: .relaxed) == 3)
        // A refusal is not kept: the next request asks again.
        #expect(try await cache.value(for: "k:a", load: revoked) == nil)
        #expect(runs.load(ordering: .relaxed) == 4)
    }

    @Test("invalidating a subject drops its credentials at once, and a lookup in flight is neither kept nor shared after it")
    func invalidation() async throws {
        let cache = CredentialCache(ttl: .seconds(5), maxEntries: 100)
        _ = try await cache.value(for: "s:1", load: { Self.found("op_1") })
        _ = try await cache.value(for: "s:2", load: { Self.found("op_2") })
        cache.invalidate(subject: "op_1")
        #expect(try await cache.value(for: "s:1", load: { nil }) == nil)
        #expect(Self.subject(try await cache.value(for: "s:2", load: { nil })) == "op_2")
        cache.invalidate(key: "s:2")
        #expect(try await cache.value(for: "s:2", load: { nil }) == nil)

        // A lookup that started before the revocation: its answer goes to the requests that
        // waited for it before, not to the table nor to requests that come after.
        let gate = AsyncStream<Void>.makeStream()
        let early = Task { try await cache.value(for: "s:3", load: { for await _ in gate.stream {}; return Self.found("op_3") }) }
        while cache.count == 0 { try await Task.sleep(for: .milliseconds(5)) }
        cache.invalidate(subject: "op_3")
        #expect(try await cache.value(for: "s:3", load: { nil }) == nil)
        gate.continuation.finish()
        _ = try await early.value
        #expect(try await cache.value(for: "s:3", load: { nil }) == nil)
    }

    @Test("the table never holds more than its bound, and refused credentials take no place")
    func bounded() async throws {
        let cache = CredentialCache(ttl: .seconds(5), maxEntries: 50)
        for index in 0..<500 {
            let found = try await cache.value(for: "k:\(index)", load: { Self.found("sa_\(index)") })
            #expect(found?.subject == "sa_\(index)")
            #expect(cache.count <= 50)
        }
        let empty = CredentialCache(ttl: .seconds(5), maxEntries: 50)
        for index in 0..<500 { _ = try await empty.value(for: "s:made-up-\(index)", load: { nil }) }
        #expect(empty.count == 0)
    }

    @Test("with AUTH_CACHE_SECONDS=0 nothing is kept, but concurrent requests still share one lookup")
    func disabled() async throws {
        let cache = CredentialCache(ttl: .zero, maxEntries: 100)
        let runs = Atomic<Int>(0)
        let load: @Sendable () async throws -> CredentialCache.Found? = {
            runs.add(1, ordering: .relaxed)
            try await Task.sleep(for: .milliseconds(50))
            return Self.found("sa_1")
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<20 { group.addTask { _ = try await cache.value(for: "k:a", load: load) } }
            try await group.waitForAll()
        }
        #expect(runs.load(ordering: .relaxed) == 1)
        _ = try await cache.value(for: "k:a", load: load)
        #expect(runs.load(ordering: .relaxed) == 2)
        #expect(cache.count == 0)
    }
}
