import ServiceLifecycle
import UnixSignals

import Logging

/// The one SIGHUP handler of `zakops serve`: runs every reload action (the key ring, the TLS
/// certificate) in turn. Each action keeps what it has when its files cannot be used. It runs
/// even with nothing to reload: SIGHUP's default action would end the process, and an
/// operator following a runbook must not stop a server by sending it.
struct HangupReloader: Service {
    let actions: [@Sendable () -> Void]
    let logger: Logger

    func run() async throws {
        for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
            if actions.isEmpty {
                logger.notice("SIGHUP: nothing to reload (secrets given as variables are read only at start; use the _FILE settings)")
            }
            for action in actions { action() }
        }
    }
}
