import Foundation
import SQLKit
import ZakOpsCore
import ZakOpsStore

/// SQL for `service_accounts`. Stateless, on the caller's connection or transaction; every
/// value is bound.
enum ServiceAccountRepository {
    static func insert(_ account: ServiceAccountService.Account, in sql: any SQLDatabase) async throws {
        try await sql.insert(into: "service_accounts")
            .columns("id", "name", "role", "is_active", "created_at", "updated_at")
            .values(SQLBind(account.id), SQLBind(account.name), SQLBind(account.role), SQLBind(account.isActive),
                    SQLBind(account.createdAt), SQLBind(account.createdAt))
            .run()
    }

    static func all(in sql: any SQLDatabase) async throws -> [ServiceAccountService.Account] {
        try await sql.select().columns("id", "name", "role", "is_active", "created_at").from("service_accounts")
            .orderBy("created_at").all()
            .map(account)
    }

    static func find(_ id: String, in sql: any SQLDatabase) async throws -> ServiceAccountService.Account? {
        try await sql.select().columns("id", "name", "role", "is_active", "created_at").from("service_accounts")
            .where("id", .equal, SQLBind(id)).first().map(account)
    }

    static func disable(_ id: String, at stamp: String, in sql: any SQLDatabase) async throws {
        try await sql.update("service_accounts").set("is_active", to: SQLBind(false)).set("updated_at", to: SQLBind(stamp))
            .where("id", .equal, SQLBind(id)).run()
    }

    private static func account(_ row: any SQLRow) throws -> ServiceAccountService.Account {
        ServiceAccountService.Account(
            id: try row.decode(column: "id", as: String.self),
            name: try row.decode(column: "name", as: String.self),
            role: try row.decode(column: "role", as: String.self),
            isActive: try row.decode(column: "is_active", as: Bool.self),
            createdAt: try row.decode(column: "created_at", as: String.self)
        )
    }
}
