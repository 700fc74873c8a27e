import Foundation
import Synchronization

/// Starts child processes one at a time. Foundation's `Process.run()` on Linux is not safe to
/// call from several threads at once (the test suite crashed inside it, in a memcpy, when
/// several tests launched children together); the server launches sendmail from concurrent
/// deliveries, so every launch goes through this lock.
public enum ProcessLaunch {
    private static let lock = Mutex(())

    public static func run(_ process: Process) throws {
        try lock.withLock { _ in try process.run() }
    }
}
