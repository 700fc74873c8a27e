import Foundation
import ZakOpsCore
import ZakOpsStore

/// Operator administration that works on the database directly: `zakops user create`, the
/// development bootstrap, and tests.
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

    /// Disables the operator with this e-mail, ends their sessions and tells them; false if
    /// there is no such operator.
    public func disable(email: String, mailer: any Mailer) async throws -> Bool {
        guard let account = try await database.read({ sql in try await OperatorRepository.byEmail(email, in: sql) }) else { return false }
        let notice = Mail(to: account.email, subject: "Your ZakOps account was disabled",
                          body: "Your ZakOps account was disabled and every session of it was signed out.")
        let now = Date()
        try await database.transaction { sql in
            try await OperatorRepository.disable(account.id, now: now, in: sql)
            try await SessionService.endAll(operatorID: account.id, in: sql)
            try await mailer.send(notice, in: sql)
        }
        return true
    }
}
