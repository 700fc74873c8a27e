import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import SQLKit
import ZakOpsApp
import ZakOpsCore
import ZakOpsTestSupport
import ZakOpsHTTP
import ZakOpsStore

/// Accounts and sign-in for identity tests. Passwords are generated per test.
struct TestAccount: Sendable {
    let id: String
    let email: String
    let password: String
    let role: Role
}

/// A signed-in browser: the session cookie and the CSRF token the login answered.
struct BrowserSession: Sendable {
    let cookie: String
    let csrf: String

    /// Headers for an unsafe request from this browser (same origin, token included).
    func headers(json: Bool = true) -> HTTPFields {
        var fields: HTTPFields = [.cookie: "\(SessionCookieName.value)=\(cookie)", HTTPField.Name("X-CSRF-Token")!: csrf]
        if json { fields[.contentType] = "application/json" }
        return fields
    }

    /// Headers for a safe request (cookie only).
    var cookieOnly: HTTPFields { [.cookie: "\(SessionCookieName.value)=\(cookie)"] }
}

enum SessionCookieName {
    static let value = "__Host-zakops_session"
}

extension TestServer {
    /// A fresh random password that meets the policy.
    static func password() -> String { "Pw-" + RandomToken.base32(RandomToken.bytes(12)) }

    /// Creates an operator directly in the database (as `zakops user create` does).
    func createOperator(role: Role = .operator, email: String? = nil, password: String? = nil, mustReset: Bool = false, active: Bool = true) async throws -> TestAccount {
        let email = email ?? "user-\(RandomToken.base32(RandomToken.bytes(5)))@example.com"
        let password = password ?? Self.password()
        let hash = try await TestServer.hasher.hash(password)
        let id = try await OperatorAdmin(database: database).create(email: email, name: "Test \(role.rawValue)", role: role, passwordHash: hash, mustResetPassword: mustReset)
        if !active {
            try await database.transaction { sql in
                try await sql.update("operators").set("is_active", to: SQLBind(false)).where("id", .equal, SQLBind(id)).run()
            }
        }
        return TestAccount(id: id, email: email, password: password, role: role)
    }

    /// POSTs JSON to the login endpoint from the server's own origin.
    func postLogin(email: String, password: String, totp: String? = nil, extraHeaders: HTTPFields = [:]) async throws -> TestResponse {
        var body = ["email": email, "password": password]
        if let totp { body["totp"] = totp }
        var headers: HTTPFields = [.contentType: "application/json"]
        for field in extraHeaders { headers.append(field) }
        let data = try JSONSerialization.data(withJSONObject: body)
        return try await client.execute(uri: "/api/auth/login", method: .post, headers: headers, body: ByteBuffer(bytes: data))
    }

    /// Signs in and returns the browser session.
    func login(_ account: TestAccount, totp: String? = nil) async throws -> BrowserSession {
        let response = try await postLogin(email: account.email, password: account.password, totp: totp)
        guard response.status == .ok, let cookie = Self.sessionCookie(in: response),
              let json = try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any],
              let csrf = json["csrf_token"] as? String else {
            throw TestSetupError("login failed with \(response.status.code)")
        }
        return BrowserSession(cookie: cookie, csrf: csrf)
    }

    /// The session token a response sets, if any.
    static func sessionCookie(in response: TestResponse) -> String? {
        guard let header = response.headers[.setCookie], header.hasPrefix(SessionCookieName.value + "=") else { return nil }
        let value = header.dropFirst(SessionCookieName.value.count + 1).prefix { $0 != ";" }
        return value.isEmpty ? nil : String(value)
    }

    /// Rows in a table (to check that a refused request changed nothing).
    func count(_ table: String) async throws -> Int {
        try await database.read { sql in
            try await sql.select().column(SQLFunction("count", args: SQLLiteral.all), as: "n").from(table).first()?.decode(column: "n", as: Int.self) ?? 0
        }
    }

    /// The e-mails the server has finished writing (`.eml` files), oldest first. A message being
    /// written is a hidden temporary file (Foundation's atomic write) until it is renamed: left
    /// out, since it may be gone by the time it would be read (mail of a detached task, such as
    /// a reset link, can be written while a test looks).
    func mails() throws -> [String] {
        guard FileManager.default.fileExists(atPath: mailFolder.path) else { return [] }
        return try FileManager.default.contentsOfDirectory(atPath: mailFolder.path).filter { $0.hasSuffix(".eml") }.sorted().map {
            try String(contentsOf: mailFolder.appendingPathComponent($0), encoding: .utf8)
        }
    }
}
