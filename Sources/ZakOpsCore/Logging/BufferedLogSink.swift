import Foundation
import Synchronization

/// Standard output with a small buffer: lines are collected and written in batches by a
/// background thread every `interval`, instead of one `write(2)` per line on the request path.
///
/// A batch never splits a line. `flush()` writes what is pending; the server calls it on
/// shutdown, and lines of level warning and above are flushed at once (`write(_:urgent:)`), so a
/// crash can lose at most `interval` worth of routine lines, never a warning or an error.
public final class BufferedLogSink: LogSink {
    private let pending = Mutex<[UInt8]>([])
    private let writing = Mutex<Void>(())
    private let descriptor: Int32
    private let limit: Int

    /// - Parameters:
    ///   - descriptor: where lines go (standard output by default).
    ///   - interval: longest time a line waits in the buffer.
    ///   - limit: buffer size that triggers an immediate write.
    public init(descriptor: Int32 = STDOUT_FILENO, interval: Duration = .milliseconds(50), limit: Int = 64 * 1024) {
        self.descriptor = descriptor
        self.limit = limit
        let seconds = Double(interval.components.seconds) + Double(interval.components.attoseconds) / 1e18
        let thread = Thread { [weak self] in
            while true {
                Thread.sleep(forTimeInterval: seconds)
                // Hold the sink only while flushing, so it can go away while this sleeps.
                guard let sink = self else { return }
                sink.flush()
            }
        }
        thread.name = "zakops-log-flush"
        thread.start()
    }

    public func write(_ line: String) {
        write(line, urgent: false)
    }

    /// Appends a line; writes at once when `urgent` or when the buffer is full.
    public func write(_ line: String, urgent: Bool) {
        let full = pending.withLock { buffer in
            buffer.append(contentsOf: line.utf8)
            buffer.append(0x0A)
            return buffer.count >= limit
        }
        if urgent || full { flush() }
    }

    /// Writes everything pending, in order.
    public func flush() {
        writing.withLock { _ in
            let batch = pending.withLock { buffer -> [UInt8] in
                defer { buffer.removeAll(keepingCapacity: true) }
                return buffer
            }
            guard !batch.isEmpty else { return }
            batch.withUnsafeBytes { bytes in
                var offset = 0
                while offset < bytes.count {
                    let written = Foundation.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                    if written > 0 {
                        offset += written
                    } else if written < 0 && errno == EINTR {
                        continue
                    } else if written < 0 && errno == EAGAIN {
                        usleep(1_000)  // a non-blocking output that is full: wait, do not spin
                    } else {
                        return  // the output is gone (closed pipe, full disk): nothing to retry
                    }
                }
            }
        }
    }
}
