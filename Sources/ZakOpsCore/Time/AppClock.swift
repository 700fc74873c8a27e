import Foundation
import Synchronization

/// The time as the application sees it. Production uses the system clock; tests move a
/// `ManualClock` to check idle and absolute expiry without waiting.
public protocol AppClock: Sendable {
    func now() -> Date
}

/// The system's wall clock.
public struct SystemClock: AppClock {
    public init() {}
    public func now() -> Date { Date() }
}

/// A clock that stands still until told to move.
public final class ManualClock: AppClock {
    private let current: Mutex<Date>

    public init(_ start: Date = Date()) {
        current = Mutex(start)
    }

    public func now() -> Date { current.withLock { $0 } }

    /// Moves the clock forward.
    public func advance(by interval: TimeInterval) {
        current.withLock { $0 = $0.addingTimeInterval(interval) }
    }
}
