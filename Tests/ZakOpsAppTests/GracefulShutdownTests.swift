import Foundation
import NIOCore
import ZakOpsHTTP
import Logging
import ServiceLifecycle
import Synchronization
import Testing
import ZakOpsCore
import ZakOpsTestSupport
import ZakOpsStore
@testable import ZakOpsApp

@Suite("Graceful shutdown", .serverSlot)
struct GracefulShutdownTests {
    @Test("an in-flight request finishes after shutdown begins; new connections are refused")
    func inFlightFinishes() async throws {
        let location = try await TestDatabase.fresh()
        var settings = TestServer.settings(database: location)
        settings.httpPort = try await ZakOpsProcess.freePort()
        let sink = CapturingLogSink()
        let logger = Bootstrap.logger(for: settings, sink: sink)
        try await Database.withOpened(location, poolSize: 1, deadline: .seconds(10), logger: logger) { database in
            _ = try await MigrationRunner(database: database, logger: logger).migrate()
        }
        let database = try await Database.open(location, poolSize: 2, deadline: .seconds(5), logger: logger)
        let install = TestRoutes.installer()
        let components = try AppComponents(settings: settings, database: database, logger: logger, hasher: TestServer.hasher)
        let app = try buildApplication(components, extraRoutes: { install($0, database) })
        // The same ServiceGroup `zakops serve` runs (signals, grace period).
        let group = ZakOpsServer.serviceGroup(for: [app], settings: settings, logger: logger)
        let port = settings.httpPort

        // Close the SQLite connections whatever happens: an unclosed connection traps on deinit.
        defer { Task { await database.close() } }
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            while !(await RawHTTP.listening(port: port)) { try await Task.sleep(for: .milliseconds(20)) }
            let slow = Task { try await RawHTTP.get("/api/test/slow", port: port) }
            while !TestRoutes.slowStarted.load(ordering: .acquiring) { try await Task.sleep(for: .milliseconds(20)) }
            await group.triggerGracefulShutdown()
            // The listener closes while the slow request is still running (it runs until it is
            // released below); polled, since how fast it closes depends on the machine's load.
            var closed = false
            let deadline = ContinuousClock.now + .seconds(15)
            while !closed && ContinuousClock.now < deadline {
                closed = !(await RawHTTP.listening(port: port))
                if !closed { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(closed, "the listener closes when shutdown begins")
            TestRoutes.slowReleased.store(true, ordering: .releasing)
            let response = try await slow.value
            #expect(response.status == 200)
            #expect(response.body == "finished")
            try await tasks.waitForAll()
        }
    }

    @Test("open event streams are told to reconnect when shutdown begins, and do not hold it for the grace period")
    func streamsEndAtShutdown() async throws {
        let location = try await TestDatabase.fresh()
        var settings = TestServer.settings(database: location)
        settings.httpPort = try await ZakOpsProcess.freePort()
        settings.authRequired = false
        settings.shutdownGrace = .seconds(60)
        let sink = CapturingLogSink()
        let logger = Bootstrap.logger(for: settings, sink: sink)
        try await Database.withOpened(location, poolSize: 1, deadline: .seconds(10), logger: logger) { database in
            _ = try await MigrationRunner(database: database, logger: logger).migrate()
        }
        let database = try await Database.open(location, poolSize: 2, deadline: .seconds(5), logger: logger)
        let components = try AppComponents(settings: settings, database: database, logger: logger, hasher: TestServer.hasher)
        let app = try buildApplication(components)
        let group = ZakOpsServer.serviceGroup(for: [app], settings: settings, logger: logger)
        let port = settings.httpPort
        defer { Task { await database.close() } }
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            while !(await RawHTTP.listening(port: port)) { try await Task.sleep(for: .milliseconds(20)) }
            // The development admin (loopback, AUTH_REQUIRED=false) opens two streams.
            let streams = try (0..<2).map { _ in try SSEClient(port: port, headers: [:]) }
            for stream in streams { #expect(try await stream.wait { $0.body.contains("retry: 3000") }) }
            let started = ContinuousClock.now
            await group.triggerGracefulShutdown()
            for stream in streams {
                #expect(try await stream.wait { $0.body.contains("event: fallback") && $0.body.contains(#""reason":"restart""#) }, "\(stream.body)")
            }
            try await tasks.waitForAll()
            // Well inside the 60 s grace: nothing waited for the streams.
            #expect(ContinuousClock.now - started < .seconds(20))
        }
    }
}
