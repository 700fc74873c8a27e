/// Where a setting's value came from. Preflight uses it: a secret from a `.env` file, or a
/// database password in a plain variable, is a finding.
public enum SettingSource: String, Sendable, Equatable {
    case flag
    case environment
    /// The `NAME_FILE` variant: the value was read from the file it names.
    case file
    case dotEnvFile = ".env file"
}
