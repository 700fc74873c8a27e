import Foundation
import Synchronization

/// Where finished log lines go.
public protocol LogSink: Sendable {
    /// Writes one complete line (without its newline).
    func write(_ line: String)
    /// Writes one line that must not wait in a buffer (warnings and errors).
    func write(_ line: String, urgent: Bool)
    /// Writes whatever is buffered.
    func flush()
}

extension LogSink {
    public func write(_ line: String, urgent: Bool) { write(line) }
    public func flush() {}
}

/// Keeps lines in memory, for tests that assert what reached the log.
public final class CapturingLogSink: LogSink {
    private let lines = Mutex<[String]>([])

    public init() {}

    public func write(_ line: String) {
        lines.withLock { $0.append(line) }
    }

    /// Every line written so far.
    public var captured: [String] { lines.withLock { $0 } }
    /// All lines joined by newlines.
    public var text: String { captured.joined(separator: "\n") }
}
