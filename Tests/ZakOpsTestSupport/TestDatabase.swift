import Foundation
import NIOCore
import Logging
import PostgresNIO
import ZakOpsCore

/// The backend this test run uses: `ZAKOPS_TEST_DATABASE=sqlite` (default) or `postgres`, with
/// `ZAKOPS_TEST_POSTGRES_URL` naming a server the test script started. Every test gets a
/// database of its own (a new SQLite file, or a new PostgreSQL database), so tests run in
/// parallel without sharing state.
public enum TestDatabase {
    public enum Backend: String, Sendable { case sqlite, postgres }

    public static var backend: Backend {
        Backend(rawValue: ProcessInfo.processInfo.environment["ZAKOPS_TEST_DATABASE"] ?? "sqlite") ?? .sqlite
    }

    /// A fresh, empty database location for one test.
    public static func fresh() async throws -> DatabaseLocation {
        try await TestSlots.enter("a test database")
        switch backend {
        case .sqlite:
            return .sqlite(path: try TemporaryFolder.make().appendingPathComponent("zakops.sqlite").path)
        case .postgres:
            guard let url = ProcessInfo.processInfo.environment["ZAKOPS_TEST_POSTGRES_URL"] else {
                throw TestSetupError("ZAKOPS_TEST_DATABASE=postgres needs ZAKOPS_TEST_POSTGRES_URL (scripts/test.sh sets it)")
            }
            guard case .postgres(var location) = try DatabaseLocation.parse(url) else {
                throw TestSetupError("ZAKOPS_TEST_POSTGRES_URL is not a postgres:// URL")
            }
            let name = "zt_" + RandomToken.base32(RandomToken.bytes(10))
            try await createDatabase(named: name, on: location)
            location.database = name
            return .postgres(location)
        }
    }

    /// The `DATABASE_URL` text for a location (test processes receive it in their environment).
    public static func url(_ location: DatabaseLocation) -> String {
        switch location {
        case .sqlite(let path):
            return "sqlite:" + path
        case .postgres(let p):
            let password = p.password.map { ":" + ($0.value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0.value) } ?? ""
            return "postgres://\(p.username)\(password)@\(p.host):\(p.port)/\(p.database)" + (p.tlsExplicit ? "?sslmode=\(p.tls.rawValue)" : "")
        }
    }

    private static func createDatabase(named name: String, on location: PostgresLocation) async throws {
        let configuration = PostgresConnection.Configuration(
            host: location.host, port: location.port, username: location.username,
            password: location.password?.value, database: location.database, tls: .disable
        )
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: Logger(label: "zakops.test", factory: { _ in SwiftLogNoOpLogHandler() }))
        defer { Task { try? await connection.close() } }
        // The name is generated above from [a-z2-7] only; identifiers cannot be bound.
        try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: Logger(label: "zakops.test", factory: { _ in SwiftLogNoOpLogHandler() }))
    }
}

public struct TestSetupError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Temporary folders for test files, removed by the OS's tmp cleaning (tests never share one).
public enum TemporaryFolder {
    public static func make() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("zakops-test-" + RandomToken.base32(RandomToken.bytes(8)), isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
