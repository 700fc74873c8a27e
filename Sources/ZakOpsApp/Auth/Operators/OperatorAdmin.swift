import Foundation
import ZakOpsCore
import ZakOpsStore

/// Creating operators with a password, on the database directly: `zakops user create`, the
/// development bootstrap, and tests. Everything else about users is `UserAdmin`.
public struct OperatorAdmin: Sendable {
    let database: Database

    public init(database: Database) {
        self.database = database
    }

    /// Creates an operator from an already computed password hash; returns its id.
    public func create(email: String, name: String, role: Role, passwordHash: String, mustResetPassword: Bool, now: Date = Date()) async throws -> String {
        try await database.transaction { sql in
            try await OperatorRepository.insert(email: email, name: name, role: role, passwordHash: passwordHash,
                                                mustResetPassword: mustResetPassword, now: now, in: sql)
        }
    }

    /// How many operators exist.
    public func count() async throws -> Int {
        try await database.read { sql in try await OperatorRepository.count(in: sql) }
    }

    /// Creates an operator after checking the password rules; the password is hashed here.
    public func create(email: String, name: String, role: Role, password: String, mustResetPassword: Bool, hasher: PasswordHasher) async throws -> String {
        try Validate.email(email, field: "email")
        try Validate.length(name, field: "name", min: 1, max: 100)
        try PasswordPolicy.validate(password, email: email, field: "password")
        let hash = try await hasher.hash(password)
        return try await create(email: email, name: name, role: role, passwordHash: hash, mustResetPassword: mustResetPassword)
    }
}
