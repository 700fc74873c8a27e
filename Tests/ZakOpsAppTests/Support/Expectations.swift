import ZakOpsTestSupport
import Foundation
import NIOCore
import ZakOpsHTTP
import HTTPTypes

/// The security headers every response must carry, with the checklist's exact values.
enum ExpectedHeaders {
    static let values: [String: String] = [
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "X-XSS-Protection": "1; mode=block",
        "Referrer-Policy": "strict-origin-when-cross-origin",
        "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
        "Cache-Control": "no-store, max-age=0",
        "Pragma": "no-cache",
    ]

    /// Problems with `lookup` (header name → value), empty when all is well.
    static func problems(_ lookup: (String) -> String?) -> [String] {
        var problems: [String] = []
        for (name, value) in values where lookup(name) != value {
            problems.append("\(name)=\(lookup(name) ?? "missing")")
        }
        let csp = lookup("Content-Security-Policy") ?? ""
        if !csp.hasPrefix("default-src 'self'") { problems.append("Content-Security-Policy=\(csp)") }
        if lookup("Server") != nil { problems.append("Server header present") }
        return problems
    }

    static func problems(_ fields: HTTPFields) -> [String] {
        problems { name in HTTPField.Name(name).flatMap { fields[$0] } }
    }
}

/// What an error body or log must never contain.
enum Leakage {
    static var uuid: Regex<Substring> { /[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}/ }

    /// Kinds of internal detail found in `body` (a client-facing error body).
    static func inErrorBody(_ body: String) -> [String] {
        var found: [String] = []
        if body.contains(".swift") { found.append(".swift") }
        if body.contains("/") { found.append("a path or URL") }
        if body.contains("postgres") { found.append("connection string") }
        if body.contains(uuid) { found.append("UUID") }
        if body.contains(/line \d+|:\d+\)/) { found.append("line number") }
        if body.lowercased().contains("select ") { found.append("SQL") }
        if body.contains("127.0.0.1") || body.contains("localhost") || body.contains("db.internal") { found.append("host") }
        return found
    }
}
