import Crypto
import Foundation
import SQLKit
import ZakOpsCore
import ZakOpsStore

/// The data-breach playbook's "preserve evidence": `zakops incident evidence --out DIR` writes
/// what the database knows (audit trail, security events, sessions, keys, operators), the
/// preflight report, the version and the settings (secrets named with their source, never
/// shown), and a manifest listing each file's SHA-256, signed with an HMAC under the session
/// secret's key: a later change to any file, or to the manifest, is detected by
/// `zakops incident evidence --verify DIR`. Token and key hashes are never written.
public struct EvidenceBundle: Sendable {
    let database: Database
    let settings: Settings
    let keys: KeyRing

    public init(database: Database, settings: Settings) throws {
        guard let secret = settings.sessionSecret else {
            throw AppError(.conflict, field: "SESSION_SECRET", problem: "is required to sign the evidence manifest")
        }
        self.database = database
        self.settings = settings
        // The base key (generation 0): an auth breach raising the generation must not make
        // evidence gathered before it unverifiable.
        keys = KeyRing(current: secret, previous: settings.sessionSecretPrevious)
    }

    public struct File: Sendable, Codable, Equatable {
        public let name: String
        public let sha256: String
        public let bytes: Int
    }

    public struct Manifest: Sendable, Codable {
        public let version: String
        public let createdAt: String
        public let createdBy: String
        public let files: [File]
        public let keyID: String
        public var hmac: String
        enum CodingKeys: String, CodingKey {
            case version, files, hmac
            case createdAt = "created_at"
            case createdBy = "created_by"
            case keyID = "key_id"
        }

        /// The text the HMAC covers: the manifest without its HMAC, keys sorted.
        var signedText: String {
            get throws {
                var unsigned = self
                unsigned.hmac = ""
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                return "evidence-v1|" + String(decoding: try encoder.encode(unsigned), as: UTF8.self)
            }
        }
    }

    static let manifestName = "manifest.json"

    /// Writes the bundle into `folder`, which must not exist or be empty; audited.
    public func collect(into folder: URL, preflight: PreflightReport, at time: Date) async throws -> Manifest {
        let manager = FileManager.default
        if manager.fileExists(atPath: folder.path) {
            guard try manager.contentsOfDirectory(atPath: folder.path).isEmpty else {
                throw AppError(.conflict, field: "out", problem: "names a folder that is not empty")
            }
        } else {
            try manager.createDirectory(at: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        var contents: [(String, Data)] = []
        let (audit, security, sessions, keyRows, operators) = try await database.read { sql in
            (try await Self.rows(sql.select().columns("seq", "id", "occurred_at", "actor_id", "actor_kind", "action", "target_kind", "target_id",
                                                      "changes", "request_id", "client_ip").from("audit_log").orderBy("seq")),
             try await Self.rows(sql.select().columns("seq", "occurred_at", "actor_id", "actor_kind", "action", "target_kind", "target_id", "changes",
                                                      "request_id", "client_ip").from("audit_log")
                .where { $0.where("action", .like, SQLBind("auth.%")).orWhere("action", .like, SQLBind("incident.%"))
                    .orWhere("action", .like, SQLBind("user.%")).orWhere("action", .like, SQLBind("api_key.%")).orWhere("action", .like, SQLBind("secrets.%")) }
                .orderBy("seq")),
             try await Self.rows(sql.select().columns("id", "operator_id", "created_at", "last_seen_at", "expires_at", "client_ip", "user_agent")
                .from("sessions").orderBy("created_at")),
             try await Self.rows(sql.select().columns("id", "service_account_id", "created_at", "created_by", "last_used_at", "revoked_at", "expires_at",
                                                      "replaced_by").from("api_keys").orderBy("created_at")),
             try await Self.rows(sql.select().columns("id", "email", "name", "role", "is_active", "approval_pending", "reset_required", "totp_enabled",
                                                      "last_login_at", "created_at", "disabled_at", "erased_at").from("operators").orderBy("created_at")))
        }
        contents.append(("audit.jsonl", Self.jsonLines(audit)))
        contents.append(("security-events.jsonl", Self.jsonLines(security)))
        contents.append(("sessions.jsonl", Self.jsonLines(sessions)))
        contents.append(("api-keys.jsonl", Self.jsonLines(keyRows)))
        contents.append(("operators.jsonl", Self.jsonLines(operators)))
        contents.append(("preflight.txt", Data((preflight.text + "\n").utf8)))
        contents.append(("settings.json", try Self.pretty(Self.settingsSummary(settings))))
        var files: [File] = []
        for (name, data) in contents {
            let url = folder.appendingPathComponent(name)
            guard manager.createFile(atPath: url.path, contents: data, attributes: [.posixPermissions: 0o600]) else {
                throw AppError(.internalError, logDetail: "evidence file could not be written")
            }
            files.append(File(name: name, sha256: SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined(), bytes: data.count))
        }
        var manifest = Manifest(version: BuildInfo.version, createdAt: Timestamp.string(from: time), createdBy: "cli", files: files,
                                keyID: keys.current.id, hmac: "")
        manifest.hmac = keys.sign(try manifest.signedText).mac
        guard manager.createFile(atPath: folder.appendingPathComponent(Self.manifestName).path, contents: try Self.pretty(manifest),
                                 attributes: [.posixPermissions: 0o600]) else {
            throw AppError(.internalError, logDetail: "evidence manifest could not be written")
        }
        let change = ChangeContext(commandLineAt: time)
        try await database.transaction { [files, manifest] sql in
            try await AuditLog.record(action: "incident.evidence_collected", targetKind: "system", targetID: "evidence", changes: [
                "files": FieldChange(before: nil, after: .number(Double(files.count))),
                "manifest_hmac": FieldChange(before: nil, after: .string(manifest.hmac)),
            ], context: change, in: sql)
        }
        return manifest
    }

    /// What is wrong with the bundle in `folder` (empty when it verifies): a file changed,
    /// missing or added, or a manifest that is not the one signed.
    public func verify(_ folder: URL) throws -> [String] {
        guard let data = FileManager.default.contents(atPath: folder.appendingPathComponent(Self.manifestName).path),
              let manifest = try? JSONDecoder().decode(Manifest.self, from: data) else { return ["manifest.json is missing or unreadable"] }
        var problems: [String] = []
        if !keys.verify(try manifest.signedText, keyID: manifest.keyID, mac: manifest.hmac) {
            problems.append("manifest.json: the signature does not match (changed, or signed with another key)")
        }
        for file in manifest.files {
            guard let contents = FileManager.default.contents(atPath: folder.appendingPathComponent(file.name).path) else {
                problems.append("\(file.name): missing")
                continue
            }
            if SHA256.hash(data: contents).map({ String(format: "%02x", $0) }).joined() != file.sha256 { problems.append("\(file.name): changed") }
        }
        let listed = Set(manifest.files.map(\.name) + [Self.manifestName])
        for extra in try FileManager.default.contentsOfDirectory(atPath: folder.path) where !listed.contains(extra) {
            problems.append("\(extra): not in the manifest")
        }
        return problems
    }

    // MARK: - Helpers

    private static func rows(_ select: SQLSelectBuilder) async throws -> [[String: JSONValue]] {
        try await select.all().map { (row: any SQLRow) -> [String: JSONValue] in
            var object: [String: JSONValue] = [:]
            for column in row.allColumns {
                if (try? row.decodeNil(column: column)) == true {
                    object[column] = .null
                } else if let text = try? row.decode(column: column, as: String.self) {
                    object[column] = .string(text)
                } else if let number = try? row.decode(column: column, as: Int64.self) {
                    object[column] = .number(Double(number))
                } else if let flag = try? row.decode(column: column, as: Bool.self) {
                    object[column] = .bool(flag)
                }
            }
            return object
        }
    }

    private static func jsonLines(_ rows: [[String: JSONValue]]) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Data(rows.compactMap { try? encoder.encode($0) }.map { String(decoding: $0, as: UTF8.self) + "\n" }.joined().utf8)
    }

    private static func pretty(_ value: some Encodable) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return try encoder.encode(value)
    }

    /// The settings that describe the deployment; secrets by name and source only.
    static func settingsSummary(_ settings: Settings) -> [String: String] {
        var summary: [String: String] = [
            "APP_ENV": settings.environment.rawValue,
            "HTTP_HOST": settings.httpHost, "HTTP_PORT": String(settings.httpPort), "HTTPS_PORT": String(settings.httpsPort),
            "DATABASE": settings.database.dialectName,
            "AUTH_REQUIRED": String(settings.authRequired), "DEBUG": String(settings.debug),
            "CORS_ORIGINS": settings.corsOrigins.joined(separator: ","),
            "TRUSTED_PROXIES": settings.trustedProxies.map { String(describing: $0) }.joined(separator: ","),
            "PUBLIC_BASE_URL": settings.publicBaseURL ?? "",
            "TLS_CERT_FILE": settings.tlsCertFile ?? "", "ALLOW_REGISTRATION": String(settings.allowRegistration),
            "RATE_LIMIT_ENABLED": String(settings.rateLimitEnabled), "RATE_LIMIT_AUTH_PER_MINUTE": String(settings.rateLimitAuthPerMinute),
            "RATE_LIMIT_API_PER_MINUTE": String(settings.rateLimitAPIPerMinute), "AUTH_CACHE_SECONDS": String(settings.authCacheTTL.components.seconds),
            "API_KEY_MAX_AGE_DAYS": String(settings.apiKeyMaxAgeDays), "SECRET_MAX_AGE_DAYS": String(settings.secretMaxAgeDays),
            "WEBHOOK_ALLOW_PRIVATE": String(settings.webhookAllowPrivate), "MAIL_BACKEND": settings.mailBackend.rawValue,
        ]
        if case .postgres(let location) = settings.database {
            summary["DATABASE"] = "postgres://\(location.host):\(location.port)/\(location.database) (sslmode \(location.tls.rawValue))"
        }
        for (name, source) in settings.secretSources {
            summary[name] = "[secret, from \(source.rawValue)]"
        }
        for name in ["SESSION_SECRET", "DATA_ENCRYPTION_KEY"] where settings.secretSources[name] == nil {
            summary[name] = "[not set]"
        }
        return summary
    }
}
