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
