import ServiceLifecycle
import UnixSignals

/// The one SIGHUP handler of `zakops serve`: runs every reload action (the key ring, the TLS
/// certificate) in turn. Each action keeps what it has when its files cannot be used.
struct HangupReloader: Service {
    let actions: [@Sendable () -> Void]

    func run() async throws {
        for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
            for action in actions { action() }
        }
    }
}
