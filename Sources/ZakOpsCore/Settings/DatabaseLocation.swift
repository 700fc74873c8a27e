import Foundation

/// `DATABASE_URL`, parsed: `sqlite:PATH` or `postgres://USER:PASSWORD@HOST:PORT/DB?sslmode=…`.
public enum DatabaseLocation: Sendable, Equatable {
    case sqlite(path: String)
    case postgres(PostgresLocation)

    /// Parses a database URL. Errors name `setting` and never repeat the URL (it holds a password).
    public static func parse(_ text: String, setting: String = "DATABASE_URL") throws -> DatabaseLocation {
        if text.hasPrefix("sqlite:") {
            var path = String(text.dropFirst("sqlite:".count))
            if path.hasPrefix("//") { path.removeFirst(2) }
            guard !path.isEmpty, path != ":memory:" else {
                throw SettingsError(setting: setting, reason: "sqlite: needs a file path, for example sqlite:data/zakops.sqlite")
            }
            return .sqlite(path: path)
        }
        if text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") {
            return .postgres(try PostgresLocation.parse(text, setting: setting))
        }
        throw SettingsError(setting: setting, reason: "must start with sqlite: or postgres://")
    }

    /// The dialect name, for messages and logs.
    public var dialectName: String {
        switch self {
        case .sqlite: "sqlite"
        case .postgres: "postgres"
        }
    }
}

/// How the PostgreSQL connection uses TLS (`sslmode` in the URL).
public enum DatabaseTLSMode: String, Sendable, Equatable, CaseIterable {
    /// No TLS. Allowed, but preflight fails it for a host that is not loopback.
    case disable
    /// TLS when the server offers it, plain otherwise. The default for loopback hosts only.
    case prefer
    /// TLS with full certificate and host-name verification. The default for any other host.
    case require
}

/// A PostgreSQL server address and credentials.
public struct PostgresLocation: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var username: String
    public var password: Secret?
    public var database: String
    public var tls: DatabaseTLSMode
    /// Whether `sslmode` was given in the URL (otherwise `tls` is the host-dependent default).
    public var tlsExplicit: Bool

    public init(host: String, port: Int, username: String, password: Secret?, database: String, tls: DatabaseTLSMode, tlsExplicit: Bool) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.tls = tls
        self.tlsExplicit = tlsExplicit
    }

    /// Whether the host is this machine (127.0.0.0/8, ::1, localhost or a Unix socket folder).
    public var isLoopback: Bool {
        Self.isLoopbackHost(host)
    }

    static func isLoopbackHost(_ host: String) -> Bool {
        host.hasPrefix("/") || IPAddress.isLoopbackHost(host)
    }

    static func parse(_ text: String, setting: String) throws -> PostgresLocation {
        let invalid = SettingsError(setting: setting, reason: "is not a valid postgres:// URL (postgres://USER:PASSWORD@HOST:PORT/DATABASE)")
        guard let components = URLComponents(string: text), let host = components.host, !host.isEmpty else {
            throw invalid
        }
        // URLComponents.user and .password are already percent-decoded: decode once only.
        guard let user = components.user, !user.isEmpty else {
            throw SettingsError(setting: setting, reason: "must name a user (postgres://USER@HOST/DATABASE)")
        }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty, !database.contains("/") else {
            throw SettingsError(setting: setting, reason: "must name a database (postgres://USER@HOST/DATABASE)")
        }
        let port = components.port ?? 5432
        guard (1...65535).contains(port) else { throw invalid }
        var tls: DatabaseTLSMode = isLoopbackHost(host) ? .prefer : .require
        var explicit = false
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                switch item.value ?? "" {
                case "disable": tls = .disable
                case "prefer", "allow": tls = .prefer
                case "require", "verify-ca", "verify-full": tls = .require
                default:
                    throw SettingsError(setting: setting, reason: "sslmode must be one of disable, prefer, require, verify-full")
                }
                explicit = true
            default:
                throw SettingsError(setting: setting, reason: "has an unsupported query parameter (only sslmode is understood)")
            }
        }
        return PostgresLocation(
            host: host,
            port: port,
            username: user,
            password: components.password.map(Secret.init),
            database: database,
            tls: tls,
            tlsExplicit: explicit
        )
    }
}
