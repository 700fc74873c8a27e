import ZakOpsTestSupport
import Crypto
import Foundation
import SwiftASN1
import X509

/// A certificate authority and server certificates made at test time (never committed).
struct TestCertificateAuthority {
    let name: DistinguishedName
    let key: P256.Signing.PrivateKey
    let certificate: Certificate

    init(commonName: String = "ZakOps Test CA") throws {
        key = P256.Signing.PrivateKey()
        name = try DistinguishedName { CommonName(commonName) }
        let now = Date()
        certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
            notValidBefore: now - 3600, notValidAfter: now + 86_400,
            issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(keyCertSign: true))
            },
            issuerPrivateKey: .init(key)
        )
    }

    var pem: String { get throws { try certificate.serializeAsPEM().pemString } }

    /// A server certificate for `localhost`, valid from an hour ago until `validFor` from now.
    func serverCertificate(validFor: TimeInterval = 86_400, notBefore: Date = Date() - 3600) throws -> (certificatePEM: String, keyPEM: String) {
        let serverKey = P256.Signing.PrivateKey()
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(serverKey.publicKey),
            notValidBefore: notBefore, notValidAfter: Date() + validFor,
            issuer: name, subject: try DistinguishedName { CommonName("localhost") }, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                SubjectAlternativeNames([.dnsName("localhost")])
                try ExtendedKeyUsage([.serverAuth])
            },
            issuerPrivateKey: .init(key)
        )
        return (try certificate.serializeAsPEM().pemString, serverKey.pemRepresentation)
    }

    /// Writes a server certificate and key to files in `folder` (key 0600).
    func writeServerFiles(to folder: URL, validFor: TimeInterval = 86_400, notBefore: Date = Date() - 3600) throws -> (certificate: URL, key: URL) {
        let (certificatePEM, keyPEM) = try serverCertificate(validFor: validFor, notBefore: notBefore)
        let certificateFile = folder.appendingPathComponent("server.crt")
        let keyFile = folder.appendingPathComponent("server.key")
        try certificatePEM.write(to: certificateFile, atomically: true, encoding: .utf8)
        try keyPEM.write(to: keyFile, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: keyFile.path)
        return (certificateFile, keyFile)
    }
}
