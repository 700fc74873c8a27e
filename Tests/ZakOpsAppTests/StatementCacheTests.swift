import Foundation
import SQLKit
import Testing
import ZakOpsCore
import ZakOpsTestSupport
import ZakOpsStore
@testable import ZakOpsApp

/// Cached statement text with each call's own values, on the test run's database.
@Suite("Statement cache", .serverSlot)
struct StatementCacheTests {
    static func operatorID(email: String, listing binds: [any Encodable & Sendable]? = nil, shape: String, in database: Database) async throws -> String? {
        try await database.read { sql in
            try await StatementCache.statement(shape, binds: binds ?? [email], on: sql) { sql in
                sql.select().column("id").from("operators").where("email", .equal, SQLBind(email)).limit(1).query
            }.first()?.decode(column: "id", as: String.self)
        }
    }

    @Test("one shape, many calls: each call binds its own values")
    func reusesTextWithNewValues() async throws {
        try await TestServer.run { server in
            let first = try await server.createOperator()
            let second = try await server.createOperator()
            let shape = "test.operator_by_email." + RandomToken.base32(RandomToken.bytes(5))
            #expect(try await Self.operatorID(email: first.email, shape: shape, in: server.database) == first.id)
            #expect(try await Self.operatorID(email: second.email, shape: shape, in: server.database) == second.id)
            #expect(try await Self.operatorID(email: "nobody@example.com", shape: shape, in: server.database) == nil)
            #expect(try await Self.operatorID(email: first.email, shape: shape, in: server.database) == first.id)
        }
    }

    @Test("values listed wrongly are never cached: every call still runs with what its builder binds")
    func mismatchedValuesAreNotCached() async throws {
        try await TestServer.run { server in
            let first = try await server.createOperator()
            let second = try await server.createOperator()
            let shape = "test.mislisted." + RandomToken.base32(RandomToken.bytes(5))
            // Had the first call's text been cached, the second would run with "wrong@example.com".
            #expect(try await Self.operatorID(email: first.email, listing: ["wrong@example.com"], shape: shape, in: server.database) == first.id)
            #expect(try await Self.operatorID(email: second.email, listing: ["wrong@example.com"], shape: shape, in: server.database) == second.id)
        }
    }
}
