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
