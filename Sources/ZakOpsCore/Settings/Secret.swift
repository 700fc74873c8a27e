/// A secret value that never prints itself.
///
/// `description`, `debugDescription` and string interpolation all give `[REDACTED]`, so a secret
/// cannot reach a log line, an error message or test output by accident; read `.value` on purpose.
public struct Secret: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    public let value: String

    public init(_ value: String) {
        self.value = value
    }

    public var description: String { "[REDACTED]" }
    public var debugDescription: String { "[REDACTED]" }
}
