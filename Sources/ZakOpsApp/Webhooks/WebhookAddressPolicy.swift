import Foundation
import ZakOpsCore

/// Where webhooks may go: `https` in production, and never to a private, loopback,
/// link-local, shared, multicast, unspecified or cloud-metadata address — checked on every
/// address the host resolves to, before each delivery — unless `WEBHOOK_ALLOW_PRIVATE=true`
/// (development and tests). Keeps a webhook from being a way into the internal network (SSRF).
struct WebhookAddressPolicy: Sendable {
    let requireHTTPS: Bool
    let allowPrivate: Bool
    /// Names to addresses: the system's resolver; tests give a table (DNS leaves the machine).
    let resolver: @Sendable (_ host: String, _ port: Int) async throws -> [IPAddress]

    init(requireHTTPS: Bool, allowPrivate: Bool, resolver: @escaping @Sendable (_ host: String, _ port: Int) async throws -> [IPAddress] = Self.resolve) {
        self.requireHTTPS = requireHTTPS
        self.allowPrivate = allowPrivate
        self.resolver = resolver
    }

    static let forbidden: [CIDR] = [
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24",
        "192.168.0.0/16", "198.18.0.0/15", "224.0.0.0/4", "240.0.0.0/4", "255.255.255.255/32",
        "::/128", "::1/128", "::ffff:0:0/96", "64:ff9b::/96", "fc00::/7", "fe80::/10", "ff00::/8", "fd00:ec2::254/128",
    ].compactMap(CIDR.init)

    /// The URL, if its form is acceptable (scheme, host, no credentials); 400 naming `url` if not.
    func validate(_ text: String) throws -> URL {
        let invalid = { (problem: String) in AppError.validation(field: "url", problem: problem) }
        guard text.count <= 2_000, let url = URL(string: text), let scheme = url.scheme?.lowercased(),
              let host = url.host, !host.isEmpty else { throw invalid("must be an absolute http(s) URL") }
        guard scheme == "https" || (scheme == "http" && !requireHTTPS) else {
            throw invalid(requireHTTPS ? "must use https" : "must be an absolute http(s) URL")
        }
        guard url.user == nil, url.password == nil else { throw invalid("must not carry credentials") }
        guard url.fragment == nil else { throw invalid("must not have a fragment") }
        if !allowPrivate, let literal = IPAddress(host.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))), Self.isForbidden(literal) {
            throw invalid("must not point to a private, loopback, link-local or metadata address")
        }
        if !allowPrivate, host.lowercased() == "localhost" || host.lowercased().hasSuffix(".localhost") {
            throw invalid("must not point to a private, loopback, link-local or metadata address")
        }
        return url
    }

    static func isForbidden(_ address: IPAddress) -> Bool {
        forbidden.contains { $0.contains(address) }
    }

    /// Resolves the host, refuses the delivery if any address is forbidden, and returns the
    /// addresses to connect to, in the resolver's order: the delivery is pinned to them, so a
    /// DNS server that answers differently when the client connects (rebinding) cannot steer it
    /// elsewhere. Empty for an address literal (checked by `validate`).
    func checkResolved(host: String, port: Int) async throws -> [IPAddress] {
        if IPAddress(host.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))) != nil { return [] }
        let addresses = try await resolver(host, port)
        guard !addresses.isEmpty else { throw WebhookDeliveryError("the host does not resolve") }
        if !allowPrivate, addresses.contains(where: Self.isForbidden) {
            throw WebhookDeliveryError("the host resolves to a private, loopback, link-local or metadata address")
        }
        return addresses
    }

    /// getaddrinfo on a thread of its own (it blocks).
    static func resolve(host: String, port: Int) async throws -> [IPAddress] {
        let bare = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        return try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                var hints = addrinfo()
                hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
                // Only families this machine has an address of: no IPv6 answers without IPv6.
                hints.ai_flags = AI_ADDRCONFIG
                var result: UnsafeMutablePointer<addrinfo>?
                guard getaddrinfo(bare, String(port), &hints, &result) == 0, let first = result else {
                    continuation.resume(throwing: WebhookDeliveryError("the host does not resolve"))
                    return
                }
                defer { freeaddrinfo(first) }
                var addresses: [IPAddress] = []
                var cursor: UnsafeMutablePointer<addrinfo>? = first
                while let info = cursor {
                    var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
                    if getnameinfo(info.pointee.ai_addr, info.pointee.ai_addrlen, &buffer, socklen_t(buffer.count), nil, 0, NI_NUMERICHOST) == 0,
                       let address = IPAddress(String(cString: buffer)) {
                        addresses.append(address)
                    }
                    cursor = info.pointee.ai_next
                }
                continuation.resume(returning: addresses)
            }
        }
    }
}
