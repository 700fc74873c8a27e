/// Random identifiers and tokens from the system's cryptographically secure generator.
///
/// `SystemRandomNumberGenerator` reads `getrandom(2)` on Linux and `arc4random` on Apple
/// platforms, both CSPRNGs.
public enum RandomToken {
    private static let base32Alphabet = Array("abcdefghijklmnopqrstuvwxyz234567".utf8)

    /// `count` random bytes.
    public static func bytes(_ count: Int) -> [UInt8] {
        // Eight bytes per draw: each draw is one getrandom(2) call on Linux.
        var generator = SystemRandomNumberGenerator()
        var output: [UInt8] = []
        output.reserveCapacity(count + 7)
        while output.count < count {
            withUnsafeBytes(of: generator.next() as UInt64) { output.append(contentsOf: $0) }
        }
        return Array(output.prefix(count))
    }

    /// Lower-case RFC 4648 base32 without padding.
    public static func base32(_ bytes: [UInt8]) -> String {
        var output: [UInt8] = []
        output.reserveCapacity((bytes.count * 8 + 4) / 5)
        var buffer = 0
        var bits = 0
        for byte in bytes {
            buffer = (buffer << 8) | Int(byte)
            bits += 8
            while bits >= 5 {
                output.append(base32Alphabet[(buffer >> (bits - 5)) & 31])
                bits -= 5
            }
            buffer &= (1 << bits) - 1
        }
        if bits > 0 {
            output.append(base32Alphabet[(buffer << (5 - bits)) & 31])
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// An opaque request reference: `req_` and 26 base32 characters (128 random bits).
    ///
    /// Deliberately not a UUID and not sequential: it identifies a request for support without
    /// revealing anything about the server or the request count.
    public static func requestID() -> String {
        var generator = SystemRandomNumberGenerator()
        let high = generator.next() as UInt64
        let low = generator.next() as UInt64
        return withUnsafeBytes(of: (high, low)) { "req_" + base32(Array($0)) }
    }
}
