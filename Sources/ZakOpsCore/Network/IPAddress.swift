#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// An IPv4 or IPv6 address parsed with `inet_pton`, the system's own parser.
public enum IPAddress: Sendable, Equatable, Hashable {
    case v4((UInt8, UInt8, UInt8, UInt8))
    case v6([UInt8])

    public init?(_ text: String) {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            let raw = withUnsafeBytes(of: &v4) { Array($0) }
            self = .v4((raw[0], raw[1], raw[2], raw[3]))
            return
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            let raw = withUnsafeBytes(of: &v6) { Array($0) }
            // An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is the IPv4 address.
            if raw[0..<10].allSatisfy({ $0 == 0 }) && raw[10] == 0xff && raw[11] == 0xff {
                self = .v4((raw[12], raw[13], raw[14], raw[15]))
            } else {
                self = .v6(raw)
            }
            return
        }
        return nil
    }

    /// Whether `host` names this machine: `localhost`, `::1` (bracketed or not), or a numeric
    /// address in 127.0.0.0/8. Names that merely start with "127." are not loopback.
    public static func isLoopbackHost(_ host: String) -> Bool {
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        if bare.lowercased() == "localhost" || bare == "::1" { return true }
        if case .v4(let bytes) = IPAddress(bare) { return bytes.0 == 127 }
        return false
    }

    /// The address's bytes in network order (4 or 16).
    public var bytes: [UInt8] {
        switch self {
        case .v4(let b): [b.0, b.1, b.2, b.3]
        case .v6(let b): b
        }
    }

    /// The canonical text of the address (`inet_ntop`): `10.0.0.1`, `2001:db8::1`.
    public var text: String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        var raw = bytes
        let family = raw.count == 4 ? AF_INET : AF_INET6
        let result = raw.withUnsafeMutableBytes { inet_ntop(family, $0.baseAddress, &buffer, socklen_t(buffer.count)) }
        guard result != nil else { return "" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The address with every bit after the first `prefixLength` cleared (the network of a block).
    public func masked(prefixLength: Int) -> IPAddress {
        var raw = bytes
        for index in raw.indices {
            let kept = max(0, min(8, prefixLength - index * 8))
            raw[index] &= kept == 8 ? 0xff : ~(0xff >> UInt8(kept))
        }
        if raw.count == 4 { return .v4((raw[0], raw[1], raw[2], raw[3])) }
        return .v6(raw)
    }

    /// Parses an address as proxies write it in `X-Forwarded-For`: bare, or with a port
    /// (`1.2.3.4:5678`, `[2001:db8::1]:443`).
    public init?(forwarded text: String) {
        var value = Substring(text.trimmingCharacters(in: .whitespaces))
        if value.hasPrefix("[") {
            guard let close = value.firstIndex(of: "]") else { return nil }
            value = value[value.index(after: value.startIndex)..<close]
        } else if value.filter({ $0 == ":" }).count == 1, let colon = value.firstIndex(of: ":") {
            value = value[..<colon]
        }
        self.init(String(value))
    }

    public static func == (lhs: IPAddress, rhs: IPAddress) -> Bool { lhs.bytes == rhs.bytes }
    public func hash(into hasher: inout Hasher) { hasher.combine(bytes) }
}
