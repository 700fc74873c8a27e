import ArgumentParser
import Foundation
import Logging
import ZakOpsApp
import ZakOpsCore

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
