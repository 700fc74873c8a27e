import ArgumentParser
import Foundation
import Logging
import ZakOpsApp
import ZakOpsCore

/// Flags for the non-secret settings. Secrets are never flags: arguments are visible to every
/// local user in the process list.
struct SettingsOptions: ParsableArguments {
    @Option(name: .customLong("app-env"), help: "development or production (APP_ENV).")
    var appEnv: String?

    @Option(name: .customLong("http-host"), help: "Address to listen on (HTTP_HOST).")
    var httpHost: String?

    @Option(name: .customLong("http-port"), help: "Port to listen on (HTTP_PORT).")
    var httpPort: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical (LOG_LEVEL).")
    var logLevel: String?

    /// The flags, keyed by the settings they override.
    var flags: [String: String] {
        var flags: [String: String] = [:]
        flags["APP_ENV"] = appEnv
        flags["HTTP_HOST"] = httpHost
        flags["HTTP_PORT"] = httpPort
        flags["LOG_LEVEL"] = logLevel
        return flags
    }

    /// Loads settings; a bad value ends the command with a message naming the setting.
    func load() async throws -> Settings {
        do {
            return try await Bootstrap.settings(flags: flags)
        } catch let error as SettingsError {
            Terminal.error("configuration error: \(error)")
            throw ExitCode(2)
        }
    }
}

/// Messages for the operator at the terminal (standard error); the log stays on standard output.
enum Terminal {
    static func error(_ message: String) {
        FileHandle.standardError.write(Data("zakops: \(message)\n".utf8))
    }

    static func print(_ message: String) {
        FileHandle.standardError.write(Data((message + "\n").utf8))
    }
}

/// The process's log sinks, flushed when the process exits. `serve` logs to standard output
/// (for the log shipper); the other commands log to standard error, because their standard
/// output is their result (`preflight --json`, `migrate --status`).
enum LogOutput {
    static let standardOutput: BufferedLogSink = {
        let sink = BufferedLogSink(descriptor: STDOUT_FILENO)
        atexit { LogOutput.standardOutput.flush() }
        return sink
    }()

    static let standardError: BufferedLogSink = {
        let sink = BufferedLogSink(descriptor: STDERR_FILENO)
        atexit { LogOutput.standardError.flush() }
        return sink
    }()
}
