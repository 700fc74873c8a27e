import ZakOpsTestSupport
import Foundation
import Logging
import Testing
@testable import ZakOpsCore

@Suite("Log redaction")
struct RedactorTests {
    @Test("credentials in free text are removed")
    func scrubsText() {
        let token = RandomToken.base32(RandomToken.bytes(20))
        let password = RandomToken.base32(RandomToken.bytes(12))
        let redactor = Redactor()
        let samples = [
            "Authorization: Bearer \(token)",
            "key zk_\(token) refused",
            "connect to postgres://zakops:\(password)@db.internal:5432/zakops failed",
            "login with password=\(password)&next=/",
            #"{"password": "\#(password)"}"#,
            "api_key: \(token)",
        ]
        for sample in samples {
            // Booleans only: a failed expectation must not print the secret it found.
            let scrubbed = redactor.scrub(sample)
            let leaked = TestLeak.found(in: scrubbed, token) || TestLeak.found(in: scrubbed, password)
            let marked = scrubbed.contains(Redactor.redacted)
            #expect(!leaked, "sample \(samples.firstIndex(of: sample)!)")
            #expect(marked, "sample \(samples.firstIndex(of: sample)!)")
        }
    }

    @Test("known secret values are removed wherever they appear")
    func knownSecrets() {
        let secret = RandomToken.base32(RandomToken.bytes(32))
        let redactor = Redactor(secrets: [secret])
        let leaked = TestLeak.found(in: redactor.scrub("value \(secret) here"), secret)
        #expect(!leaked)
    }

    @Test("e-mail addresses are masked")
    func masksEmail() {
        let scrubbed = Redactor().scrub("reset requested for jane.doe@example.com")
        #expect(!scrubbed.contains("jane.doe@example.com"))
        #expect(scrubbed.contains("j***@e***.com"))
    }

    @Test("fields named like secrets are redacted whatever their value")
    func sensitiveKeys() {
        for key in ["Authorization", "cookie", "Set-Cookie", "X-CSRF-Token", "password", "new_password", "api_key", "session_secret", "DATABASE_URL"] {
            #expect(Redactor.isSensitiveKey(key), "\(key)")
        }
        #expect(!Redactor.isSensitiveKey("route"))
        #expect(!Redactor.isSensitiveKey("status"))
    }

    @Test("a log line is one JSON object with control characters escaped")
    func jsonLine() throws {
        let sink = CapturingLogSink()
        let logger = JSONLogHandler.logger(level: .info, sink: sink, redactor: Redactor())
        logger.info("line one\r\nforged: line\u{2028}", metadata: ["password": "hunter2hunter2", "note": "a\nb"])
        #expect(sink.captured.count == 1)
        let line = try #require(sink.captured.first)
        #expect(!line.contains("\n") && !line.contains("\r") && !line.contains("\u{2028}"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["level"] as? String == "info")
        #expect(object["password"] as? String == Redactor.redacted)
        #expect((object["ts"] as? String)?.hasSuffix("Z") == true)
        #expect(object["msg"] as? String == "line one\r\nforged: line\u{2028}")
    }
}
