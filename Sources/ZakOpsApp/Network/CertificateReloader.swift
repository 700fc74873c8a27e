import Logging
import ZakOpsCore

/// Re-reads `TLS_CERT_FILE` and `TLS_KEY_FILE` (on SIGHUP, through `HangupReloader`). A file
/// that cannot be used keeps the certificate that is being served and logs why.
struct CertificateReloader: Sendable {
    let certificates: TLSCertificates
    let logger: Logger

    func reload() {
        do {
            try certificates.reload()
            logger.notice("TLS certificate reloaded", metadata: ["not_valid_after": .string(Timestamp.string(from: certificates.notValidAfter))])
        } catch {
            logger.error("TLS certificate not reloaded: the files could not be used", metadata: ["reason": .string(String(describing: error))])
        }
    }
}
