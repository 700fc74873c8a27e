/// Judges whether a secret is strong enough to sign sessions and CSRF tokens.
public enum SecretStrength {
    /// Fragments of the example values people paste from documentation and tutorials.
    static let exampleFragments = [
        "changeme", "change-me", "change_me", "example", "your-secret", "your_secret", "yoursecret",
        "secret-key", "secretkey", "replace-me", "replaceme", "insecure", "default", "password",
        "placeholder", "todo", "xxxxxxxx", "00000000", "12345678", "abcdefgh", "qwerty", "zakops",
    ]

    /// The checklist's "32+ random bytes", in bits.
    public static let minimumBits = 256.0

    /// Nil when the secret is acceptable, else the reason, which never quotes the secret.
    ///
    /// Randomness cannot be measured from one sample, so this estimates an upper bound: the
    /// length times the bits per character of the alphabet the text is written in (hex 4,
    /// base64 6, other printable text about 6.5), and refuses words, placeholders and text with
    /// too little variety. `openssl rand -base64 48` and `openssl rand -hex 32` pass.
    public static func weakness(of secret: String) -> String? {
        let bytes = Array(secret.utf8)
        let bits = estimatedBits(bytes)
        if bits < minimumBits {
            return "carries at most \(Int(bits)) bits; at least 32 random bytes (\(Int(minimumBits)) bits) are required"
        }
        let lowered = secret.lowercased()
        if exampleFragments.contains(where: { lowered.contains($0) }) {
            return "looks like an example or placeholder value"
        }
        if bytes.contains(UInt8(ascii: " ")) {
            return "contains spaces: use random bytes, not a passphrase"
        }
        if shannonBitsPerByte(bytes) < 3.0 || Set(bytes).count < 12 {
            return "has too little variety to be random (low entropy)"
        }
        return nil
    }

    /// Length × bits per character of the narrowest alphabet that covers the text.
    static func estimatedBits(_ bytes: [UInt8]) -> Double {
        func isHex(_ byte: UInt8) -> Bool {
            (0x30...0x39).contains(byte) || (0x61...0x66).contains(byte) || (0x41...0x46).contains(byte)
        }
        func isBase64(_ byte: UInt8) -> Bool {
            (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
                || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "/") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
        }
        let body = bytes.reversed().drop(while: { $0 == UInt8(ascii: "=") }).reversed()
        let perCharacter: Double
        if body.allSatisfy(isHex) {
            perCharacter = 4
        } else if body.allSatisfy(isBase64) {
            perCharacter = 6
        } else {
            perCharacter = log2(95)
        }
        return Double(body.count) * perCharacter
    }

    /// Shannon entropy of the byte distribution, in bits per byte.
    static func shannonBitsPerByte(_ bytes: [UInt8]) -> Double {
        var counts = [Int](repeating: 0, count: 256)
        for byte in bytes { counts[Int(byte)] += 1 }
        let total = Double(bytes.count)
        return counts.reduce(0.0) { sum, count in
            guard count > 0 else { return sum }
            let p = Double(count) / total
            return sum - p * log2(p)
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
