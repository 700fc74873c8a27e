/// `LOG_CLIENT_IP`: how the request log names the client address. Security events always
/// carry the full address (an investigation needs it); the line written for every request
/// need not.
public enum LogClientIP: String, Sendable, CaseIterable {
    /// The address as it is (the development default).
    case full
    /// A keyed hash (`KeyRing.pseudonym`): the same client gives the same name until the session
    /// secret rotates, and the name cannot be turned back into the address (the production
    /// default).
    case hashed
    /// The network only: IPv4 /24, IPv6 /48.
    case truncated

    /// The form used when `LOG_CLIENT_IP` is not set.
    public static func standard(production: Bool) -> LogClientIP { production ? .hashed : .full }

    /// The request log's name for `address` under this form.
    public func render(_ address: String?, keys: KeyRing) -> String {
        guard let address else { return "unknown" }
        switch self {
        case .full:
            return address
        case .hashed:
            return "ip_" + keys.pseudonym("client-ip", address)
        case .truncated:
            guard let parsed = IPAddress(address) else { return "unknown" }
            if case .v6 = parsed { return parsed.masked(prefixLength: 48).text + "/48" }
            return parsed.masked(prefixLength: 24).text + "/24"
        }
    }
}
