import Logging
import ZakOpsCore
import ZakOpsStore

/// In development only: a `serve` on a database without operators creates `admin@localhost`
/// with a random password, shown once on the terminal (never in the log), which must be
/// changed at first login.
enum DevelopmentBootstrap {
    static let email = "admin@localhost"

    static func run(database: Database, settings: Settings, logger: Logger, report: @Sendable (String) -> Void) async throws {
        guard !settings.isProduction else { return }
        let admin = OperatorAdmin(database: database)
        guard try await admin.count() == 0 else { return }
        let password = RandomToken.base32(RandomToken.bytes(15))
        let hasher = PasswordHasher(cost: settings.passwordHashCost, threads: 1)
        _ = try await admin.create(email: email, name: "Administrator", role: .admin, password: password, mustResetPassword: true, hasher: hasher)
        logger.notice("security event", metadata: ["event": "development_admin_created"])
        report("""
            Created the development administrator:
              e-mail:   \(email)
              password: \(password)
            This password is shown once and must be changed at the first login:
            open \(settings.linkBaseURL)/console/ in a browser.
            """)
    }
}
