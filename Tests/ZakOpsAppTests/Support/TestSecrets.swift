import Foundation
import ZakOpsCore
import ZakOpsTestSupport

/// Secrets made fresh for each test run: none is ever written in the repository.
enum TestSecrets {
    /// A strong random session secret (48 random bytes, base32).
    static func sessionSecret() -> String {
        RandomToken.base32(RandomToken.bytes(48))
    }

    /// A well-formed `BACKUP_AGE_RECIPIENT` (a public key: tests that encrypt for real make a
    /// key pair with age-keygen, `BackupTests.ageKey`).
    static func ageRecipient() -> String {
        let alphabet = Array("qpzry9x8gf2tvdw0s3jn54khce6mua7l")
        return "age1" + String(RandomToken.bytes(58).map { alphabet[Int($0) % alphabet.count] })
    }

    /// A fresh `DATA_ENCRYPTION_KEY`: 32 random bytes in base64.
    static func dataKey() -> String {
        Data(RandomToken.bytes(32)).base64EncodedString()
    }

    /// Which of `secrets` (by label) occur in `text`. Returns labels only, so a failing
    /// expectation never prints the secret itself.
    static func leaks(_ text: String, _ secrets: [String: String]) -> [String] {
        secrets.filter { !$0.value.isEmpty && text.contains($0.value) }.map(\.key).sorted()
    }
}
