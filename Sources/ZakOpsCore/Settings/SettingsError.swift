/// A setting that cannot be used: names the setting and the rule, never the value.
public struct SettingsError: Error, Sendable, Equatable, CustomStringConvertible {
    public let setting: String
    public let reason: String

    public init(setting: String, reason: String) {
        self.setting = setting
        self.reason = reason
    }

    public var description: String { "\(setting): \(reason)" }
}
