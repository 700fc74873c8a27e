import Configuration
import Foundation
import SystemPackage

/// The raw values settings are read from, in precedence order: command-line flags, the process
/// environment, then a `.env` file. swift-configuration's providers parse the environment and
/// the `.env` file; this type keeps track of which one answered, for preflight.
public struct SettingsInput: Sendable {
    private let layers: [(SettingSource, EnvironmentVariablesProvider)]
    /// Whether the `.env` layer came from a file that exists.
    public let dotEnvFileLoaded: Bool

    /// Reads the process environment and `.env` (when present) under the given flag values.
    public static func load(
        flags: [String: String],
        environment: [String: String] = ProcessInfo.processInfo.environment,
        dotEnvPath: String? = ".env"
    ) async throws -> SettingsInput {
        var loaded = false
        var dotEnv = EnvironmentVariablesProvider(environmentVariables: [:])
        if let dotEnvPath, FileManager.default.fileExists(atPath: dotEnvPath) {
            do {
                dotEnv = try await EnvironmentVariablesProvider(environmentFilePath: FilePath(dotEnvPath), allowMissing: true)
                loaded = true
            } catch {
                throw SettingsError(setting: ".env", reason: "the file could not be parsed (expected NAME=value lines)")
            }
        }
        return SettingsInput(flags: flags, environment: environment, dotEnv: dotEnv, dotEnvFileLoaded: loaded)
    }

    init(flags: [String: String], environment: [String: String], dotEnv: EnvironmentVariablesProvider, dotEnvFileLoaded: Bool) {
        layers = [
            (.flag, EnvironmentVariablesProvider(environmentVariables: flags)),
            (.environment, EnvironmentVariablesProvider(environmentVariables: environment)),
            (.dotEnvFile, dotEnv),
        ]
        self.dotEnvFileLoaded = dotEnvFileLoaded
    }

    /// Input from plain dictionaries (tests and tools): flags over environment, no `.env`.
    public init(flags: [String: String] = [:], environment: [String: String]) {
        self.init(flags: flags, environment: environment, dotEnv: EnvironmentVariablesProvider(environmentVariables: [:]), dotEnvFileLoaded: false)
    }

    /// The first non-empty value for `name`, and the layer it came from.
    public func value(_ name: String) -> (value: String, source: SettingSource)? {
        for (source, provider) in layers {
            if let value = try? provider.environmentValue(forName: name), !value.isEmpty {
                return (value, source)
            }
        }
        return nil
    }
}
