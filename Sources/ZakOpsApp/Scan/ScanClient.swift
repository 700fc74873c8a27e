import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

/// The scanner's HTTP client: redirects never followed (the redirect is a finding), TLS
/// verified against the system roots or `--ca-file`, bodies read up to 1 MiB.
struct ScanClient: Sendable {
    struct Answer: Sendable {
        let status: Int
        let headers: HTTPHeaders
        let body: String

        func header(_ name: String) -> String? { headers.first(name: name) }
        /// Every value of a header that may repeat (`Set-Cookie`).
        func headers(_ name: String) -> [String] { headers[name] }
    }

    let client: HTTPClient
    let timeout: TimeAmount

    /// A client whose TLS is `tls` (a probe narrows versions and ciphers).
    static func make(caFile: String?, tls: TLSConfiguration? = nil) throws -> HTTPClient {
        var tlsConfiguration = tls ?? TLSConfiguration.makeClientConfiguration()
        if let caFile { tlsConfiguration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile)) }
        var configuration = HTTPClient.Configuration(tlsConfiguration: tlsConfiguration, redirectConfiguration: .disallow,
                                                     timeout: .init(connect: .seconds(5), read: .seconds(10)))
        configuration.httpVersion = .http1Only
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    func send(_ method: HTTPMethod = .GET, _ url: String, headers: [(String, String)] = [], body: String? = nil) async throws -> Answer {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await client.execute(request, timeout: timeout)
        let bytes = (try? await response.body.collect(upTo: 1_048_576)) ?? ByteBuffer()
        return Answer(status: Int(response.status.code), headers: response.headers, body: String(buffer: bytes))
    }

    /// Whether a TLS handshake (and one request) succeeds with only `tls`'s versions and ciphers.
    static func handshakes(_ url: String, caFile: String?, tls: TLSConfiguration) async -> Bool {
        guard let client = try? make(caFile: caFile, tls: tls) else { return false }
        var request = HTTPClientRequest(url: url)
        request.method = .GET
        let answered = (try? await client.execute(request, timeout: .seconds(10))) != nil
        try? await client.shutdown()
        return answered
    }
}
