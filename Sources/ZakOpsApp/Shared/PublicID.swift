import SQLKit
import ZakOpsCore

/// Opaque public identifiers: a prefix and 80 random bits in base32 (not sequential, not UUIDs).
enum PublicID {
    static func make(_ prefix: String) -> String {
        prefix + "_" + RandomToken.base32(RandomToken.bytes(10))
    }
}
