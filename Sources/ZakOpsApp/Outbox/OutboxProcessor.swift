import Foundation
import Logging
import Metrics
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
    /// Where `mail` rows go (`MAIL_BACKEND`).
    let mailBackend: any Mailer
    /// Opens the sealed mail payloads.
    let dataKeys: DataKeyRing
    let backoff: OutboxBackoff
    let batchSize: Int
    let lease: TimeInterval
    let pollInterval: Duration
    /// Where `alert-webhook` rows go (`ALERT_WEBHOOK_URL`) and the secret that signs them.
    var alertWebhook: (url: String, secret: String)? = nil

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
        let switches = try await RuntimeSwitches(database: database).snapshot().on
        guard !switches.contains(.outboxPaused) else { return 0 }
        // The lockdown holds webhooks back (nothing leaves for outside systems); mail still
        // goes: the playbooks' own notices are mail.
        let rows = try await OutboxRepository.claim(limit: batchSize, lease: lease, now: clock.now(),
                                                    onlyConsumer: switches.contains(.lockdown) ? OutboxMailer.consumer : nil, in: database)
        guard !rows.isEmpty else { return 0 }
        let webhooks = try await deliverer.webhooks(for: rows)
        let delivered = await withTaskGroup(of: String?.self) { group in
            for row in rows {
                group.addTask { await attempt(row, webhooks: webhooks) ? row.id : nil }
            }
            return await group.reduce(into: [String]()) { ids, id in if let id { ids.append(id) } }
        }
        do {
            try await OutboxRepository.markDelivered(delivered, at: clock.now(), in: database)
        } catch {
            // The lease runs out and the rows are claimed again: delivered at least once.
            logger.warning("recording outbox deliveries failed", metadata: ["rows": .stringConvertible(delivered.count),
                                                                           "error_type": .string(String(describing: type(of: error)))])
        }
        return rows.count
    }

    /// Delivers one row; records a failure at once, returns whether it was delivered.
    private func attempt(_ row: OutboxRow, webhooks: [String: Webhook]) async -> Bool {
        let started = ContinuousClock.now
        let isWebhook = row.consumer != OutboxMailer.consumer
        do {
            try await send(row, webhooks: webhooks)
            if isWebhook { Self.recordWebhook(since: started, outcome: "delivered") }
            return true
        } catch {
            if isWebhook {
                Self.recordWebhook(since: started, outcome: "failed")
                Counter(label: "zakops_webhook_delivery_failures_total").increment()
            }
            let reason = (error as? WebhookDeliveryError)?.description ?? (error as? AppError)?.problem ?? String(describing: type(of: error))
            do {
                if try await OutboxRepository.markFailed(row, error: reason, backoff: backoff, at: clock.now(), in: database) {
                    Counter(label: "zakops_outbox_dead_letters_total").increment()
                    logger.warning("outbox row dead-lettered", metadata: ["outbox_id": .string(row.id), "consumer": .string(row.consumer),
                                                                          "event_type": .string(row.eventType)])
                }
            } catch {
                logger.warning("recording an outbox failure failed", metadata: ["outbox_id": .string(row.id),
                                                                                "error_type": .string(String(describing: type(of: error)))])
            }
            return false
        }
    }

    private func send(_ row: OutboxRow, webhooks: [String: Webhook]) async throws {
        switch row.consumer {
        case OutboxMailer.consumer:
            try await mailBackend.send(try OutboxMailer.mail(from: row, keys: dataKeys))
        case AlertNotifier.consumer:
            guard let alertWebhook else { throw WebhookDeliveryError("ALERT_WEBHOOK_URL is not set") }
            try await deliverer.post(row, to: alertWebhook.url, secrets: [alertWebhook.secret], now: clock.now())
        case let consumer where consumer.hasPrefix("webhook:"):
            try await deliverer.deliver(row, to: webhooks[String(consumer.dropFirst("webhook:".count))], now: clock.now())
        default:
            throw WebhookDeliveryError("no consumer named \(row.consumer)")
        }
    }

    /// `zakops_webhook_delivery_duration_seconds` by outcome.
    private static func recordWebhook(since started: ContinuousClock.Instant, outcome: String) {
        let elapsed = ContinuousClock.now - started
        Metrics.Timer(label: "zakops_webhook_delivery_duration_seconds", dimensions: [("outcome", outcome)])
            .recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
    }
}
