import Logging
import ZakOpsCore

/// Re-reads `SESSION_SECRET_FILE` and `SESSION_SECRET_PREVIOUS_FILE` (on SIGHUP, through
/// `HangupReloader`) and swaps the key ring without a restart. A file that cannot be read keeps
/// the ring as it was.
struct KeyRingReloader: Sendable {
    let store: KeyRingStore
    let currentFile: String
    let previousFile: String?
    /// In production the new secret must pass the strength check.
    let requireStrength: Bool
    let logger: Logger

    func reload() {
        do {
            let current = try SettingsLoader.readSecretFile(currentFile, setting: "SESSION_SECRET_FILE")
            let previous = try previousFile.map { try SettingsLoader.readSecretFile($0, setting: "SESSION_SECRET_PREVIOUS_FILE") }
            // The same bar as preflight: a weak or placeholder secret never replaces a good one.
            if requireStrength, let weakness = SecretStrength.weakness(of: current.value) {
                throw SettingsError(setting: "SESSION_SECRET_FILE", reason: "the new secret \(weakness)")
            }
            let ring = KeyRing(current: current, previous: previous)
            store.replace(with: ring)
            logger.notice("security event", metadata: [
                "event": "key_ring_reloaded", "current_key_id": .string(ring.current.id), "previous_key_id": .string(ring.previous?.id ?? "none"),
            ])
        } catch {
            logger.error("key ring not reloaded: a secret file could not be read", metadata: ["reason": .string(String(describing: error))])
        }
    }
}
