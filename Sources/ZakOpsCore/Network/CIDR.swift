import Foundation

/// A CIDR block such as `10.0.0.0/8` or `::1/128`; a bare address is a single-host block.
public struct CIDR: Sendable, Equatable, CustomStringConvertible {
    public let network: IPAddress
    public let prefixLength: Int

    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let address = IPAddress(String(parts[0])) else { return nil }
        let maxLength = address.bytes.count * 8
        if parts.count == 2 {
            guard let length = Int(parts[1]), (0...maxLength).contains(length) else { return nil }
            prefixLength = length
        } else {
            prefixLength = maxLength
        }
        network = address
    }

    /// Whether `address` lies inside the block.
    public func contains(_ address: IPAddress) -> Bool {
        let lhs = network.bytes
        let rhs = address.bytes
        guard lhs.count == rhs.count else { return false }
        var remaining = prefixLength
        for index in 0..<lhs.count where remaining > 0 {
            let bits = min(8, remaining)
            let mask: UInt8 = bits == 8 ? 0xff : ~(0xff >> UInt8(bits))
            if lhs[index] & mask != rhs[index] & mask { return false }
            remaining -= bits
        }
        return true
    }

    public var description: String {
        let address: String
        switch network {
        case .v4(let b): address = "\(b.0).\(b.1).\(b.2).\(b.3)"
        case .v6(let b): address = stride(from: 0, to: 16, by: 2).map { String(UInt16(b[$0]) << 8 | UInt16(b[$0 + 1]), radix: 16) }.joined(separator: ":")
        }
        return "\(address)/\(prefixLength)"
    }
}
