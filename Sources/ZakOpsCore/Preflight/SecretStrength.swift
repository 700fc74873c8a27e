/// Judges whether a secret is strong enough to sign sessions and CSRF tokens.
public enum SecretStrength {
    /// Fragments of the example values people paste from documentation and tutorials.
    static let exampleFragments = [
        "changeme", "change-me", "change_me", "example", "your-secret", "your_secret", "yoursecret",
        "secret-key", "secretkey", "replace-me", "replaceme", "insecure", "default", "password",
        "placeholder", "todo", "xxxxxxxx", "00000000", "12345678", "abcdefgh", "qwerty", "zakops",
    ]

    /// Minimum length in bytes (the checklist's "32+ random bytes").
    public static let minimumBytes = 32

    /// Nil when the secret is acceptable, else the reason, which never quotes the secret.
    public static func weakness(of secret: String) -> String? {
        let bytes = Array(secret.utf8)
        if bytes.count < minimumBytes {
            return "is \(bytes.count) bytes; at least \(minimumBytes) are required"
        }
        let lowered = secret.lowercased()
        if exampleFragments.contains(where: { lowered.contains($0) }) {
            return "looks like an example or placeholder value"
        }
        if shannonBitsPerByte(bytes) < 3.0 || Set(bytes).count < 12 {
            return "has too little variety to be random (low entropy)"
        }
        return nil
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
