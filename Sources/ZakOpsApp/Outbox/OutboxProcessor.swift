import Foundation
import Logging
import ServiceLifecycle
import ZakOpsCore
import ZakOpsStore

/// Delivers the outbox: claims due rows in batches under a lease, delivers each to its
/// consumer, and records the outcome (delivered, retry after a backoff, or dead). Stops
/// claiming while the `outbox.paused` switch is on. Any number of processors, on any number of
/// instances, may run against one PostgreSQL database: claims never overlap, and a row whose
/// processor died is claimed again when its lease expires.
struct OutboxProcessor: Service {
    let database: Database
    let clock: any AppClock
    let logger: Logger
    let deliverer: WebhookDeliverer
    let backoff: OutboxBackoff
    let batchSize: Int
    let lease: TimeInterval
    let pollInterval: Duration

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            var delivered = 0
            do {
                delivered = try await runOnce()
            } catch {
                logger.warning("outbox batch failed", metadata: ["error_type": .string(String(describing: type(of: error)))])
            }
            // A full batch means more is waiting: go on at once.
            if delivered < batchSize {
                do {
                    try await cancelWhenGracefulShutdown { try await Task.sleep(for: pollInterval) }
                } catch {
                    return
                }
            }
        }
    }

    /// One batch; returns how many rows it handled (0 when paused or nothing is due).
    @discardableResult
    func runOnce() async throws -> Int {
        guard try await !RuntimeSwitches(database: database).isOn(.outboxPaused) else { return 0 }
        let rows = try await OutboxRepository.claim(limit: batchSize, lease: lease, now: clock.now(), in: database)
        await withTaskGroup(of: Void.self) { group in
            for row in rows {
                group.addTask { await handle(row) }
            }
        }
        return rows.count
    }

    private func handle(_ row: OutboxRow) async {
        do {
            do {
                guard row.consumer.hasPrefix("webhook:") else { throw WebhookDeliveryError("no consumer named \(row.consumer)") }
                try await deliverer.deliver(row, webhookID: String(row.consumer.dropFirst("webhook:".count)), now: clock.now())
            } catch {
                let reason = (error as? WebhookDeliveryError)?.description ?? (error as? AppError)?.problem ?? String(describing: type(of: error))
                if try await OutboxRepository.markFailed(row, error: reason, backoff: backoff, at: clock.now(), in: database) {
                    logger.warning("outbox row dead-lettered", metadata: ["outbox_id": .string(row.id), "consumer": .string(row.consumer),
                                                                          "event_type": .string(row.eventType)])
                }
                return
            }
            try await OutboxRepository.markDelivered(row.id, at: clock.now(), in: database)
        } catch {
            // The lease runs out and the row is claimed again: delivered at least once.
            logger.warning("recording an outbox outcome failed", metadata: ["outbox_id": .string(row.id),
                                                                            "error_type": .string(String(describing: type(of: error)))])
        }
    }
}
