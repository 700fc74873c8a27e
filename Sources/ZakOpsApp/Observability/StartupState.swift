import Hummingbird
import Synchronization
import ZakOpsCore
import ZakOpsHTTP
import ZakOpsStore

/// Whether the server has finished starting (set once the listener is up).
public final class StartupState: Sendable {
    private let complete = Atomic<Bool>(false)

    public init() {}

    public var isComplete: Bool { complete.load(ordering: .acquiring) }

    func markComplete() { complete.store(true, ordering: .releasing) }
}
