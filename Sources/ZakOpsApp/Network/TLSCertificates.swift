import Foundation
import Logging
import NIOCore
import NIOSSL
import Synchronization
import ZakOpsCore

/// The certificate chain and key the HTTPS listener presents, replaceable while it runs.
///
/// NIOSSL asks `configurationOverride` once per handshake, so a renewed certificate re-read on
/// SIGHUP serves the next connection, without a restart and without dropping open ones.
public final class TLSCertificates: Sendable {
    struct Material: Sendable {
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
        let notValidAfter: Date
    }

    let certificateFile: String
    let keyFile: String
    private let current: Mutex<Material>

    /// Loads the files; throws `SettingsError` naming the setting when they are unusable.
    public init(certificateFile: String, keyFile: String) throws {
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        current = Mutex(try Self.load(certificateFile: certificateFile, keyFile: keyFile))
    }

    /// When the presented certificate ends.
    public var notValidAfter: Date { current.withLock { $0.notValidAfter } }

    /// Re-reads both files. On any problem the old material stays in use and the error is thrown.
    public func reload() throws {
        let material = try Self.load(certificateFile: certificateFile, keyFile: keyFile)
        current.withLock { $0 = material }
    }

    /// The server configuration: TLS 1.2 and 1.3 only; for 1.2, only forward-secret AEAD suites
    /// (TLS 1.3's suites are all AEAD and not configurable in BoringSSL).
    public func serverConfiguration() -> TLSConfiguration {
        let material = current.withLock { $0 }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: material.chain.map { .certificate($0) }, privateKey: .privateKey(material.key)
        )
        configuration.minimumTLSVersion = .tlsv12
        configuration.maximumTLSVersion = .tlsv13
        configuration.cipherSuiteValues = [
            .TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, .TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
            .TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, .TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
            .TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, .TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        ]
        configuration.sslContextCallback = { [self] _, promise in
            let material = current.withLock { $0 }
            var override = NIOSSLContextConfigurationOverride()
            override.certificateChain = material.chain.map { .certificate($0) }
            override.privateKey = .privateKey(material.key)
            promise.succeed(override)
        }
        return configuration
    }

    static func load(certificateFile: String, keyFile: String) throws -> Material {
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificateFile)
        } catch {
            throw SettingsError(setting: "TLS_CERT_FILE", reason: "the file it names cannot be read as a PEM certificate chain")
        }
        guard let leaf = chain.first else {
            throw SettingsError(setting: "TLS_CERT_FILE", reason: "the file it names holds no certificate")
        }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: keyFile, format: .pem)
        } catch {
            throw SettingsError(setting: "TLS_KEY_FILE", reason: "the file it names cannot be read as a PEM private key")
        }
        // BoringSSL refuses a key that does not match the leaf certificate when it builds a context.
        do {
            _ = try NIOSSLContext(configuration: .makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key)))
        } catch {
            throw SettingsError(setting: "TLS_KEY_FILE", reason: "the key does not belong to the certificate in TLS_CERT_FILE")
        }
        return Material(chain: chain, key: key, notValidAfter: Date(timeIntervalSince1970: TimeInterval(leaf.notValidAfter)))
    }

    /// What preflight needs to know about the configured files.
    public static func inspect(_ settings: Settings) -> Preflight.TLSFinding {
        guard let certificateFile = settings.tlsCertFile, let keyFile = settings.tlsKeyFile else { return .notConfigured }
        guard let material = try? load(certificateFile: certificateFile, keyFile: keyFile) else { return .unusable }
        return .usable(notValidAfter: material.notValidAfter)
    }
}
