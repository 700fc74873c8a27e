import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import ZakOpsCore
import ZakOpsStore

/// Sends one outbox row to its webhook: a POST with the Standard Webhooks headers, no
/// redirects followed, connect and total timeouts; any answer but 2xx is a failure (retried).
struct WebhookDeliverer: Sendable {
    let client: HTTPClient
    let policy: WebhookAddressPolicy
    /// Opens the sealed signing secrets.
    let keys: DataKeyRing
    let timeout: TimeAmount
    let database: Database

    /// The client ZakOps delivers with, one per process (it lives as long as the process):
    /// redirects refused (a 3xx is a failure, never followed to a host the policy did not
    /// check), connect timeout 5 s.
    static let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration())

    /// Redirects refused, connect timeout 5 s, HTTP/1.1; `pinning` maps a name to the address
    /// its connections go to.
    static func configuration(pinning: [String: String] = [:]) -> HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow, timeout: .init(connect: .seconds(5)))
        configuration.httpVersion = .http1Only
        configuration.dnsOverride = pinning
        return configuration
    }

    /// The webhooks a batch's rows go to, read once per batch.
    func webhooks(for rows: [OutboxRow]) async throws -> [String: Webhook] {
        let ids = Set(rows.compactMap { $0.consumer.hasPrefix("webhook:") ? String($0.consumer.dropFirst("webhook:".count)) : nil })
        guard !ids.isEmpty else { return [:] }
        return try await database.read { sql in
            try await WebhookRepository.all(in: sql).filter { ids.contains($0.id) }.reduce(into: [:]) { $0[$1.id] = $1 }
        }
    }

    func deliver(_ row: OutboxRow, to webhook: Webhook?, now: Date) async throws {
        guard let webhook else { throw WebhookDeliveryError("the webhook was deleted") }
        guard webhook.isActive else { throw WebhookDeliveryError("the webhook is disabled") }
        let url = try policy.validate(webhook.url)
        let host = url.host ?? ""
        let addresses = try await policy.checkResolved(host: host, port: url.port ?? (url.scheme == "https" ? 443 : 80))
        // A name is reached at the addresses just checked (TLS still verifies the name), the
        // next one tried when a connection cannot be made, as a client resolving it would.
        let clients = addresses.isEmpty ? [self.client] : addresses.prefix(Self.addressesTried).map { PinnedClients.shared.client(host: host, address: $0) }
        // During a rotation's overlap one signature per secret, space-separated (Standard Webhooks).
        try await post(row, to: webhook.url, secrets: try webhook.signingSecrets(at: now, keys: keys), clients: clients, now: now)
    }

    /// Sends the row, signed with each secret, trying `clients` in turn while no connection
    /// can be made. The alert webhook (`ALERT_WEBHOOK_URL`, set by the operator, not through
    /// the API) comes here directly with the shared client.
    func post(_ row: OutboxRow, to url: String, secrets: [String], clients: [HTTPClient]? = nil, now: Date) async throws {
        let clients = clients ?? [client]
        let timestamp = Int64(now.timeIntervalSince1970)
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "ZakOps-Webhooks/1")
        request.headers.add(name: "webhook-id", value: row.id)
        request.headers.add(name: "webhook-timestamp", value: String(timestamp))
        let signatures = try secrets.map { secret in
            try WebhookSignature.sign(secret: secret, id: row.id, timestamp: timestamp, body: row.payload)
        }
        request.headers.add(name: "webhook-signature", value: signatures.joined(separator: " "))
        request.body = .bytes(ByteBuffer(string: row.payload))
        var response: HTTPClientResponse?
        for (index, client) in clients.enumerated() {
            do {
                response = try await client.execute(request, timeout: timeout)
                break
            } catch where Self.isConnectFailure(error) && index + 1 < clients.count {
                continue
            } catch {
                throw WebhookDeliveryError("delivery failed: \(Self.describe(error))")
            }
        }
        guard let response else { throw WebhookDeliveryError("delivery failed: no address") }
        // Read (and drop) at most 64 KB, so that the connection can be reused.
        _ = try? await response.body.collect(upTo: 65_536)
        guard (200..<300).contains(response.status.code) else {
            throw WebhookDeliveryError("the receiver answered HTTP \(response.status.code)")
        }
    }

    /// At most this many of a name's addresses are tried for one attempt.
    static let addressesTried = 3

    /// Whether no connection could be made (nothing was sent, so another address may be tried).
    static func isConnectFailure(_ error: any Error) -> Bool {
        if let error = error as? HTTPClientError, error == .connectTimeout { return true }
        if let error = error as? ChannelError, case .connectTimeout = error { return true }
        // A refused or unroutable connection comes back as the socket's errno.
        if let error = error as? IOError { return [ECONNREFUSED, EHOSTUNREACH, ENETUNREACH, EADDRNOTAVAIL].contains(error.errnoCode) }
        return error is NIOConnectionError
    }

    /// The error's kind, never its text (which could hold the URL and its query).
    static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError { return String(describing: error).prefix(while: { $0 != "(" }).description }
        return String(describing: type(of: error))
    }
}
