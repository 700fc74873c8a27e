import Foundation
import Logging
import ZakOpsCore

/// Start-up steps every `zakops` command shares: read settings once, build the logger.
public enum Bootstrap {
    /// Settings from flags, the environment, `NAME_FILE` secrets and `.env`.
    public static func settings(flags: [String: String]) async throws -> Settings {
        let input = try await SettingsInput.load(flags: flags)
        var settings = try SettingsLoader(input: input).load()
        // DEBUG in development turns on debug logs unless LOG_LEVEL says otherwise.
        if settings.debug, !settings.isProduction, input.value("LOG_LEVEL") == nil {
            settings.logLevel = .debug
        }
        return settings
    }

    /// The JSON-lines logger, redacting the secrets these settings carry.
    public static func logger(for settings: Settings, sink: any LogSink) -> Logger {
        JSONLogHandler.logger(label: "zakops", level: settings.logLevel, sink: sink, redactor: redactor(for: settings))
    }

    /// Routes every logger of the process, libraries' included, through the JSON handler and
    /// its redaction, and returns the application's logger. Once per process (the executable).
    public static func installLogging(for settings: Settings, sink: any LogSink) -> Logger {
        let redactor = redactor(for: settings)
        let level = settings.logLevel
        LoggingSystem.bootstrap { label in JSONLogHandler(label: label, level: level, sink: sink, redactor: redactor) }
        return logger(for: settings, sink: sink)
    }

    /// A redactor that knows this deployment's secret values.
    public static func redactor(for settings: Settings) -> Redactor {
        var secrets: [String] = []
        if let secret = settings.sessionSecret { secrets.append(secret.value) }
        if let previous = settings.sessionSecretPrevious { secrets.append(previous.value) }
        if case .postgres(let location) = settings.database, let password = location.password {
            secrets.append(password.value)
            secrets.append(password.value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? password.value)
        }
        return Redactor(secrets: secrets)
    }
}

