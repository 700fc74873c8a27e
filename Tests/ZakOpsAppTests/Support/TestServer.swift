import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import ZakOpsApp
import ZakOpsCore
import ZakOpsTestSupport
import NIOCore
import ZakOpsHTTP
import ZakOpsStore

/// A running ZakOps application on a real socket (HummingbirdTesting's live mode) with a fresh
/// database of the current backend and a captured log.
struct TestServer {
    let client: any TestClientProtocol
    let database: Database
    let settings: Settings
    let log: CapturingLogSink
    let clock: ManualClock
    /// Where the server's mail lands (`.eml` files).
    let mailFolder: URL
    /// The server's services, for tests that call one directly.
    let components: AppComponents

    /// How long after the start a request was sent that this instance refused `session` (nil:
    /// no request sent within `bound` was refused). Measured when the request leaves, not when
    /// its answer arrives: on a loaded machine an answer may take longer than the bound itself.
    func refusal(of session: BrowserSession, within bound: Duration) async throws -> Duration? {
        try await IncidentPlaybookTests.within(bound) {
            try await client.execute(uri: "/api/auth/me", method: .get, headers: session.cookieOnly).status == .unauthorized
        }
    }

    /// One bcrypt hasher for the whole test process, at the lowest allowed cost (10).
    /// Its queue is deeper than production's 64: every test of the parallel suite shares it, and
    /// a 503 for a full queue would be the suite's own load, not the behaviour under test. Its
    /// threads keep normal priority: at production's nice 19 the suite's own busy threads left
    /// them so little CPU that queued logins outlasted the client's 20 s read timeout (CI).
    static let hasher = PasswordHasher(cost: 10, threads: 2, maximumWaiting: 1_000, niceness: 0)

    /// The port the server listens on, for raw-socket requests.
    var port: Int { client.port! }

    /// Development settings for tests: port 0, the given database, a fresh session secret.
    static func settings(database location: DatabaseLocation) -> Settings {
        var settings = Settings()
        settings.httpPort = 0
        settings.database = location
        settings.sessionSecret = Secret(TestSecrets.sessionSecret())
        // Generous: the whole suite runs in parallel on two cores, and a lease can wait behind
        // a busy machine. Tests of the timeout itself set their own.
        settings.databaseTimeout = .seconds(10)
        // The live test client opens its connection when a test starts; a test that spends
        // longer than the production idle timeout before its first request (bcrypt under the
        // whole suite's load) would find it closed.
        settings.httpIdleTimeout = .seconds(600)
        settings.logLevel = .debug
        settings.passwordHashCost = 10
        // Tests of other features send many requests from one address and fail many logins on
        // purpose: they run with limits out of reach and without the login backoff. The tests
        // of those protections put the defaults back (`TestServer.productionLimits`).
        settings.rateLimitAuthPerMinute = 100_000
        settings.rateLimitAPIPerMinute = 100_000
        settings.loginBackoffEnabled = false
        // The outbox tests run their processor by hand (`OutboxProcessor.runOnce`), so that a
        // background one never races them; they point webhooks at a local receiver.
        settings.outboxProcessor = false
        // Retention runs are called by the tests of retention, on the manual clock.
        settings.retentionJob = false
        settings.webhookAllowPrivate = true
        return settings
    }

    /// Puts the limits and the login backoff back to their defaults.
    static func productionLimits(_ settings: inout Settings) {
        let defaults = Settings()
        settings.rateLimitAuthPerMinute = defaults.rateLimitAuthPerMinute
        settings.rateLimitAPIPerMinute = defaults.rateLimitAPIPerMinute
        settings.loginBackoffEnabled = defaults.loginBackoffEnabled
    }

    /// Runs `test` against a live server. The database is migrated first unless `migrate` is false.
    static func run(
        location: DatabaseLocation? = nil,
        migrate: Bool = true,
        hasher: PasswordHasher? = nil,
        mailThroughOutbox: Bool = false,
        configure: (inout Settings) -> Void = { _ in },
        extraRoutes: @escaping @Sendable (Router<AppRequestContext>, Database) -> Void = TestRoutes.installer(),
        _ test: @Sendable (TestServer) async throws -> Void
    ) async throws {
        try await TestSlots.enter("a test server")
        let resolvedLocation: DatabaseLocation
        if let location {
            resolvedLocation = location
        } else {
            resolvedLocation = try await TestDatabase.fresh()
        }
        var settings = settings(database: resolvedLocation)
        configure(&settings)
        let sink = CapturingLogSink()
        let logger = Bootstrap.logger(for: settings, sink: sink)
        if migrate {
            try await Database.withOpened(settings.database, poolSize: 1, deadline: .seconds(10), logger: logger) { database in
                _ = try await MigrationRunner(database: database, logger: logger).migrate()
            }
        }
        let database = try await Database.open(settings.database, poolSize: 4, deadline: settings.databaseTimeout, logger: logger)
        let clock = ManualClock()
        let mailFolder = try TemporaryFolder.make().appendingPathComponent("mailbox")
        let components = try AppComponents(
            settings: settings, database: database, logger: logger, clock: clock,
            // The server's own outbox mailer when asked (nil picks it); otherwise straight to files.
            mailer: mailThroughOutbox ? nil : FileMailer(folder: mailFolder.path), hasher: hasher ?? Self.hasher
        )
        let app = try buildApplication(components, extraRoutes: { extraRoutes($0, database) })
        let frozen = settings
        do {
            try await app.test(.live) { client in
                try await test(TestServer(client: client, database: database, settings: frozen, log: sink, clock: clock, mailFolder: mailFolder,
                                    components: components))
            }
        } catch {
            await database.close()
            throw error
        }
        await database.close()
    }
}

extension TestResponse {
    /// The body as text.
    var text: String { String(buffer: body) }

    /// The decoded error body, if this is one.
    var errorBody: ErrorBody? { try? JSONDecoder().decode(ErrorBody.self, from: Data(body.readableBytesView)) }
}
