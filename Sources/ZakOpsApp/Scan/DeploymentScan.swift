import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import ZakOpsCore

/// `zakops scan URL`: audits a live deployment from outside, item by item against the
/// checklist — what an attacker's first requests would learn. Read-only except the optional
/// sign-in (`credentials`, then signed out) and `probeLimits` (failed sign-ins until 429).
public struct DeploymentScan: Sendable {
    public struct Credentials: Sendable, Decodable {
        public let email: String
        public let password: String
    }

    public let base: URL
    /// Where plain HTTP is expected to redirect from (default: the same host on port 80).
    public let plainURL: URL?
    public let caFile: String?
    public let credentials: Credentials?
    public let probeLimits: Bool

    public init(base: URL, plainURL: URL? = nil, caFile: String? = nil, credentials: Credentials? = nil, probeLimits: Bool = false) {
        self.base = base
        self.plainURL = plainURL
        self.caFile = caFile
        self.credentials = credentials
        self.probeLimits = probeLimits
    }

    typealias Finding = ScanReport.Finding

    /// The checklist's six headers and their accepted values (X-XSS-Protection: the checklist's
    /// `1; mode=block`, or `0`, OWASP's advice, one documented setting away).
    static let headerRules: [(name: String, accepts: @Sendable (String) -> Bool, expected: String)] = [
        ("X-Content-Type-Options", { $0.lowercased() == "nosniff" }, "nosniff"),
        ("X-Frame-Options", { $0.uppercased() == "DENY" }, "DENY"),
        ("X-XSS-Protection", { ["1; mode=block", "0"].contains($0.lowercased()) }, "1; mode=block"),
        ("Referrer-Policy", { $0.lowercased() == "strict-origin-when-cross-origin" || $0.lowercased() == "no-referrer" }, "strict-origin-when-cross-origin"),
        ("Content-Security-Policy", { csp in
            let lowered = csp.lowercased()
            return lowered.contains("default-src 'self'") && !lowered.contains("unsafe-inline") && !lowered.contains("unsafe-eval")
                && !lowered.split(separator: ";").contains { $0.split(separator: " ").contains("*") }
        }, "default-src 'self'"),
        ("Strict-Transport-Security", { hsts in
            let lowered = hsts.lowercased()
            let maxAge = lowered.split(separator: ";").compactMap { part -> Int? in
                let pair = part.trimmingCharacters(in: .whitespaces).split(separator: "=")
                return pair.count == 2 && pair[0] == "max-age" ? Int(pair[1]) : nil
            }.first ?? 0
            return maxAge >= 31_536_000 && lowered.contains("includesubdomains")
        }, "max-age=31536000; includeSubDomains"),
    ]

    public func run() async throws -> ScanReport {
        let client = try ScanClient.make(caFile: caFile)
        let scan = ScanClient(client: client, timeout: .seconds(15))
        var findings: [Finding] = []
        do {
            findings += try await headers(scan)
            findings.append(try await redirect(scan))
            findings += await tls()
            findings.append(try await cookies(scan))
            findings.append(try await cors(scan))
            findings.append(try await credentialInQuery(scan))
            findings += try await errorBodies(scan)
            findings.append(try await metricsNotPublic(scan))
            findings.append(try await serverBanner(scan))
            findings.append(try await rateLimit(scan))
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
        return ScanReport(target: base.absoluteString, findings: findings)
    }

    func url(_ path: String) -> String {
        var text = base.absoluteString
        while text.hasSuffix("/") { text.removeLast() }
        return text + path
    }

    var origin: String {
        let port = base.port.map { ":\($0)" } ?? ""
        return "\(base.scheme ?? "https")://\(base.host ?? "")\(port)"
    }

    static func pass(_ id: String, _ item: String, _ detail: String) -> Finding {
        Finding(id: id, item: item, status: .pass, detail: detail, fix: nil)
    }

    static func fail(_ id: String, _ item: String, _ detail: String, fix: String) -> Finding {
        Finding(id: id, item: item, status: .fail, detail: detail, fix: fix)
    }

    static func skip(_ id: String, _ item: String, _ detail: String) -> Finding {
        Finding(id: id, item: item, status: .skip, detail: detail, fix: nil)
    }

    // MARK: - Headers

    /// The six headers and `Cache-Control: no-store` on a success, an error and a 404.
    func headers(_ scan: ScanClient) async throws -> [Finding] {
        let samples: [(String, String, String)] = [
            ("headers_success", "Security headers on a success", "/health/live"),
            ("headers_error", "Security headers on an error", "/api/deals"),
            ("headers_not_found", "Security headers on a 404", "/zakops-scan-\(RandomToken.base32(RandomToken.bytes(5)))"),
        ]
        var findings: [Finding] = []
        for (id, item, path) in samples {
            let answer = try await scan.send(.GET, url(path))
            var problems: [String] = []
            for rule in Self.headerRules {
                // Every value: a proxy that appends a second one (browsers apply the last they
                // understand) weakens the header as surely as one that replaces it.
                let values = answer.headers(rule.name)
                guard !values.isEmpty else {
                    problems.append("\(rule.name) missing")
                    continue
                }
                for value in values where !rule.accepts(value) { problems.append("\(rule.name): \(value)") }
                if values.count > 1 && values.allSatisfy(rule.accepts) && Set(values).count > 1 { problems.append("\(rule.name) sent \(values.count) times") }
            }
            if !(answer.header("Cache-Control")?.lowercased().contains("no-store") ?? false) { problems.append("Cache-Control without no-store") }
            if problems.isEmpty {
                findings.append(Self.pass(id, item, "HTTP \(answer.status) \(path): all six and Cache-Control: no-store"))
            } else {
                findings.append(Self.fail(id, item, "HTTP \(answer.status) \(path): " + problems.joined(separator: "; "),
                                          fix: "Let every response through with ZakOps's headers: the proxy must not drop or override them (nginx: no add_header/proxy_hide_header for these)."))
            }
        }
        return findings
    }

    // MARK: - Transport

    /// Plain HTTP answers with a permanent redirect to the same path over HTTPS.
    func redirect(_ scan: ScanClient) async throws -> Finding {
        let id = "https_redirect", item = "HTTP redirects to HTTPS"
        guard base.scheme == "https" else {
            return Self.fail(id, item, "the deployment is scanned over plain HTTP", fix: "Serve the API over HTTPS only: terminate TLS at the proxy or set TLS_CERT_FILE.")
        }
        var components = URLComponents(url: plainURL ?? base, resolvingAgainstBaseURL: false)
        if plainURL == nil {
            components?.scheme = "http"
            components?.port = nil
        }
        components?.path = "/api/deals"
        components?.query = "scan=1"
        guard let plain = components?.url?.absoluteString else { return Self.skip(id, item, "no plain address to try") }
        let answer: ScanClient.Answer
        do {
            answer = try await scan.send(.GET, plain)
        } catch {
            return Self.pass(id, item, "\(plain) does not answer plain HTTP at all")
        }
        guard [301, 308].contains(answer.status), let location = answer.header("Location"), location.hasPrefix("https://"), location.contains("/api/deals") else {
            return Self.fail(id, item, "\(plain) answered HTTP \(answer.status)\(answer.header("Location").map { " to \($0)" } ?? "")",
                             fix: "Redirect every plain-HTTP request permanently (301/308) to the same path over HTTPS (deploy/nginx/zakops.conf does).")
        }
        return Self.pass(id, item, "\(answer.status) to \(location)")
    }

    /// TLS 1.0 and 1.1 refused, 1.2+ accepted; no key exchange without forward secrecy and no
    /// CBC suite on TLS 1.2.
    func tls() async -> [Finding] {
        guard base.scheme == "https" else {
            return [Self.skip("tls_versions", "TLS 1.2 or newer only", "not HTTPS"), Self.skip("tls_ciphers", "TLS cipher floor", "not HTTPS")]
        }
        let probe = url("/health/live")
        var modern = TLSConfiguration.makeClientConfiguration()
        modern.minimumTLSVersion = .tlsv12
        var old = TLSConfiguration.makeClientConfiguration()
        old.minimumTLSVersion = .tlsv1
        old.maximumTLSVersion = .tlsv11
        let acceptsModern = await ScanClient.handshakes(probe, caFile: caFile, tls: modern)
        let acceptsOld = await ScanClient.handshakes(probe, caFile: caFile, tls: old)
        var findings: [Finding] = []
        if acceptsOld {
            findings.append(Self.fail("tls_versions", "TLS 1.2 or newer only", "a TLS 1.0/1.1 handshake succeeded",
                                      fix: "Allow only TLSv1.2 and TLSv1.3 (nginx: ssl_protocols TLSv1.2 TLSv1.3;)."))
        } else if !acceptsModern {
            findings.append(Self.fail("tls_versions", "TLS 1.2 or newer only", "no TLS 1.2+ handshake succeeded (certificate not trusted? use --ca-file)",
                                      fix: "Serve a certificate the clients trust over TLS 1.2/1.3."))
        } else {
            findings.append(Self.pass("tls_versions", "TLS 1.2 or newer only", "TLS 1.0 and 1.1 refused, TLS 1.2+ accepted"))
        }
        var weak = TLSConfiguration.makeClientConfiguration()
        weak.minimumTLSVersion = .tlsv12
        weak.maximumTLSVersion = .tlsv12
        // Static RSA key exchange (no forward secrecy) and CBC modes.
        weak.cipherSuiteValues = [.TLS_RSA_WITH_AES_128_GCM_SHA256, .TLS_RSA_WITH_AES_256_GCM_SHA384, .TLS_RSA_WITH_AES_128_CBC_SHA,
                                  .TLS_RSA_WITH_AES_256_CBC_SHA, .TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, .TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
                                  .TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, .TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA]
        if await ScanClient.handshakes(probe, caFile: caFile, tls: weak) {
            findings.append(Self.fail("tls_ciphers", "TLS cipher floor", "a TLS 1.2 handshake with a CBC or static-RSA suite succeeded",
                                      fix: "Allow only ECDHE with AES-GCM or ChaCha20-Poly1305 on TLS 1.2 (deploy/nginx/zakops.conf's ssl_ciphers)."))
        } else {
            findings.append(Self.pass("tls_ciphers", "TLS cipher floor", "CBC and static-RSA suites refused on TLS 1.2"))
        }
        return findings
    }

    // MARK: - Session cookie

    /// Signs in (only with credentials), reads the cookie's attributes, signs out.
    func cookies(_ scan: ScanClient) async throws -> Finding {
        let id = "cookie_attributes", item = "Session cookie attributes"
        guard let credentials else { return Self.skip(id, item, "no credentials given (--credentials FILE or -)") }
        let body = try JSONText.encode(["email": credentials.email, "password": credentials.password])
        let answer = try await scan.send(.POST, url("/api/auth/login"), headers: [("Content-Type", "application/json"), ("Origin", origin)], body: body)
        guard answer.status == 200, let cookie = answer.headers("Set-Cookie").first(where: { $0.lowercased().hasPrefix("zakops_session") || $0.lowercased().hasPrefix("__host-") }) ?? answer.headers("Set-Cookie").first else {
            return Self.fail(id, item, "sign-in answered HTTP \(answer.status) without a session cookie",
                             fix: "Give the credentials of an operator who can sign in (no TOTP, no pending reset).")
        }
        let attributes = cookie.split(separator: ";").dropFirst().map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        var problems: [String] = []
        if !attributes.contains("secure") { problems.append("not Secure") }
        if !attributes.contains("httponly") { problems.append("not HttpOnly") }
        if !attributes.contains("samesite=strict") { problems.append("not SameSite=Strict") }
        if attributes.contains(where: { $0.hasPrefix("domain=") }) { problems.append("has a Domain (sent to subdomains)") }
        // Sign out again: the scan leaves no session behind.
        if let csrf = (try? JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any])?["csrf_token"] as? String {
            let pair = String(cookie.split(separator: ";")[0])
            _ = try? await scan.send(.POST, url("/api/auth/logout"), headers: [("Cookie", pair), ("X-CSRF-Token", csrf), ("Origin", origin)])
        }
        guard problems.isEmpty else {
            return Self.fail(id, item, problems.joined(separator: ", "), fix: "The proxy must pass ZakOps's Set-Cookie unchanged (no proxy_cookie_* rewriting).")
        }
        return Self.pass(id, item, "Secure, HttpOnly, SameSite=Strict, host-only")
    }

    // MARK: - CORS

    /// A foreign origin, `null` and a look-alike of the deployment's own host get no CORS grant.
    func cors(_ scan: ScanClient) async throws -> Finding {
        let id = "cors", item = "CORS limited to the allowed origins"
        let host = base.host ?? "localhost"
        let origins = ["https://attacker.example", "null", "https://\(host).attacker.example", "\(origin).attacker.example"]
        var problems: [String] = []
        for foreign in origins {
            for method in [HTTPMethod.GET, .OPTIONS] {
                var headers = [("Origin", foreign)]
                if method == .OPTIONS { headers += [("Access-Control-Request-Method", "POST"), ("Access-Control-Request-Headers", "content-type")] }
                let answer = try await scan.send(method, url("/api/deals"), headers: headers)
                if let allowed = answer.header("Access-Control-Allow-Origin") {
                    problems.append("\(method.rawValue) from \(foreign) allowed as \(allowed)")
                }
            }
        }
        guard problems.isEmpty else {
            return Self.fail(id, item, problems.joined(separator: "; "), fix: "Set CORS_ORIGINS to the dashboard's exact origins; never reflect the Origin header or answer *.")
        }
        return Self.pass(id, item, "no grant for a foreign origin, null or a look-alike")
    }

    // MARK: - Input and errors

    /// A credential in the query string is refused, not served.
    func credentialInQuery(_ scan: ScanClient) async throws -> Finding {
        let id = "credential_in_query", item = "Credentials refused in URLs"
        let answer = try await scan.send(.GET, url("/api/deals?api_key=zk_scan_not_a_key&access_token=x"))
        guard answer.status == 400, answer.body.contains("SENSITIVE_DATA_IN_URL") || answer.body.contains("\"error\"") else {
            return Self.fail(id, item, "?api_key=… answered HTTP \(answer.status)", fix: "Refuse credentials in query strings (ZakOps answers 400 SENSITIVE_DATA_IN_URL; the proxy must not rewrite them into headers).")
        }
        return Self.pass(id, item, "HTTP 400 for ?api_key=…")
    }

    /// Words that must never reach a client in an error: stack traces, source paths, SQL.
    static let leaks = ["Traceback", "Exception", "stack trace", ".swift", "/Sources/", "/usr/", "/home/", "SELECT ", "INSERT INTO", "syntax error",
                        "SQLITE_", "PSQLError", "Fatal error", "nginx/", "<html", "<center>"]

    /// 401, 404, 405, 413 and a malformed body: each a JSON error with a code, a message and a
    /// request id, nothing else.
    func errorBodies(_ scan: ScanClient) async throws -> [Finding] {
        let big = String(repeating: "a", count: 2 * 1_048_576)
        let cases: [(String, String, HTTPMethod, String, String?, [Int])] = [
            ("error_body_401", "Sanitized 401", .GET, "/api/deals", nil, [401]),
            ("error_body_404", "Sanitized 404", .GET, "/api/zakops-scan-missing", nil, [404]),
            ("error_body_405", "Sanitized 405", .DELETE, "/health/live", nil, [405]),
            ("error_body_413", "Sanitized 413", .POST, "/api/auth/login", "{\"email\":\"\(big)\"}", [413]),
            ("error_body_400", "Sanitized 400 for a malformed body", .POST, "/api/auth/login", "{\"email\": [1, 2,", [400, 422]),
        ]
        var findings: [Finding] = []
        for (id, item, method, path, body, expected) in cases {
            let answer: ScanClient.Answer
            do {
                answer = try await scan.send(method, url(path), headers: [("Content-Type", "application/json"), ("Origin", origin)], body: body)
            } catch {
                findings.append(Self.fail(id, item, "\(method.rawValue) \(path): no answer (\(String(describing: type(of: error))))",
                                          fix: "Answer oversized or refused requests with an error, not a dropped connection."))
                continue
            }
            let json = try? JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any]
            let error = json?["error"] as? [String: Any]
            let leaked = Self.leaks.filter { answer.body.localizedCaseInsensitiveContains($0) }
            if !expected.contains(answer.status) {
                findings.append(Self.fail(id, item, "\(method.rawValue) \(path) answered HTTP \(answer.status), expected \(expected.map(String.init).joined(separator: "/"))",
                                          fix: "Let ZakOps answer: the proxy's own limits must be above the app's (client_max_body_size) or answer in the same JSON shape."))
            } else if error?["code"] == nil || error?["message"] == nil || !leaked.isEmpty {
                findings.append(Self.fail(id, item, "HTTP \(answer.status) body " + (leaked.isEmpty ? "is not a ZakOps error object" : "contains \(leaked.joined(separator: ", "))"),
                                          fix: "Errors must be {\"error\":{code,message,request_id}} only; make the proxy pass the app's error bodies (no error_page to HTML) and never show upstream details."))
            } else {
                findings.append(Self.pass(id, item, "HTTP \(answer.status) \(error?["code"] ?? "")"))
            }
        }
        return findings
    }

    // MARK: - Exposure

    /// `/metrics` is not served to the public, with or without a made-up token.
    func metricsNotPublic(_ scan: ScanClient) async throws -> Finding {
        let id = "metrics_not_public", item = "Metrics not public"
        for headers in [[], [("Authorization", "Bearer scan")]] {
            let answer = try await scan.send(.GET, url("/metrics"), headers: headers)
            if answer.status == 200 && answer.body.contains("# TYPE") {
                return Self.fail(id, item, "GET /metrics answered the metrics", fix: "Keep /metrics on its loopback listener (METRICS_HOST) or behind METRICS_TOKEN; never route it through the public proxy without the token.")
            }
        }
        return Self.pass(id, item, "/metrics not served")
    }

    /// No server software or version named.
    func serverBanner(_ scan: ScanClient) async throws -> Finding {
        let id = "server_banner", item = "No server version disclosed"
        let answer = try await scan.send(.GET, url("/zakops-scan-banner"))
        let named = ["Server", "X-Powered-By"].compactMap { name in answer.header(name).map { "\(name): \($0)" } }.filter { $0.contains(where: \.isNumber) || $0.contains("X-Powered-By") }
        guard named.isEmpty else {
            return Self.fail(id, item, named.joined(separator: "; "), fix: "Hide versions (nginx: server_tokens off;).")
        }
        return Self.pass(id, item, answer.header("Server").map { "Server: \($0) (no version)" } ?? "no Server header")
    }

    /// Only with `--probe-limits`: failed sign-ins from this address until 429 (at most 30).
    func rateLimit(_ scan: ScanClient) async throws -> Finding {
        let id = "auth_rate_limit", item = "Authentication rate limit"
        guard probeLimits else { return Self.skip(id, item, "not probed (--probe-limits sends failed sign-ins until refused)") }
        let body = #"{"email":"zakops-scan@invalid.example","password":"not-the-password-1"}"#
        for attempt in 1...30 {
            let answer = try await scan.send(.POST, url("/api/auth/login"), headers: [("Content-Type", "application/json"), ("Origin", origin)], body: body)
            if answer.status == 429 {
                guard answer.header("Retry-After") != nil else {
                    return Self.fail(id, item, "429 without Retry-After", fix: "Refused requests tell clients when to retry (Retry-After).")
                }
                return Self.pass(id, item, "429 with Retry-After at attempt \(attempt)")
            }
        }
        return Self.fail(id, item, "30 failed sign-ins were not refused", fix: "Keep RATE_LIMIT_ENABLED on at 10 per minute (RATE_LIMIT_AUTH_PER_MINUTE), and TRUSTED_PROXIES set so that clients are told apart.")
    }
}
