import Foundation
import Synchronization
import ZakOpsCore

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
