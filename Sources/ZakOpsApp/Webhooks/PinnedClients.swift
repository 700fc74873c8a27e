import AsyncHTTPClient
import Synchronization
import ZakOpsCore

/// HTTP clients that connect a webhook's host name to the address the policy checked
/// (AsyncHTTPClient's `dnsOverride`: the connection goes to the address, TLS still verifies the
/// name). One client per name and address, so connections are reused between deliveries; at most
/// `capacity`, the least recently used shut down when another is needed.
final class PinnedClients: Sendable {
    static let shared = PinnedClients(capacity: 64)
    static let shutdownGrace: Duration = .seconds(300)

    private struct State {
        var clients: [String: HTTPClient] = [:]
        /// Keys, least recently used first.
        var order: [String] = []
    }

    private let state = Mutex(State())
    private let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
    }

    func client(host: String, address: IPAddress) -> HTTPClient {
        let key = host + " " + address.text
        let (client, evicted) = state.withLock { state -> (HTTPClient, HTTPClient?) in
            if let client = state.clients[key] {
                state.order.removeAll { $0 == key }
                state.order.append(key)
                return (client, nil)
            }
            var evicted: HTTPClient?
            if state.clients.count >= capacity, let oldest = state.order.first {
                state.order.removeFirst()
                evicted = state.clients.removeValue(forKey: oldest)
            }
            let client = HTTPClient(eventLoopGroupProvider: .singleton,
                                    configuration: WebhookDeliverer.configuration(pinning: [host: address.text]))
            state.clients[key] = client
            state.order.append(key)
            return (client, evicted)
        }
        // Shut down after a grace period longer than any delivery (WEBHOOK_TIMEOUT_SECONDS is
        // at most 120 s, plus connect attempts), so a delivery of the same batch still using it finishes first.
        if let evicted {
            Task {
                try? await Task.sleep(for: Self.shutdownGrace)
                try? await evicted.shutdown()
            }
        }
        return client
    }
}
