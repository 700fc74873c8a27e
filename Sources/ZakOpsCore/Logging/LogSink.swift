import Foundation
import Synchronization

/// Where finished log lines go.
public protocol LogSink: Sendable {
    /// Writes one complete line (without its newline).
    func write(_ line: String)
}

/// Standard output, one `write(2)` per line so lines from concurrent tasks never interleave.
public struct StandardOutputSink: LogSink {
    public init() {}

    public func write(_ line: String) {
        var bytes = Array(line.utf8)
        bytes.append(0x0A)
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Foundation.write(STDOUT_FILENO, buffer.baseAddress! + offset, buffer.count - offset)
                if written <= 0 { return }
                offset += written
            }
        }
    }
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
