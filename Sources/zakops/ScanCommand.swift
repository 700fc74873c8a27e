import ArgumentParser
import Foundation
import ZakOpsApp

/// `zakops scan URL`: the checklist's outside view of a live deployment (docs/operations.md).
struct ScanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scan",
        abstract: "Audit a live deployment from outside against the security checklist: PASS/FAIL per item with the fix; exit 1 on a FAIL."
    )

    @Argument(help: "The deployment's public address, such as https://zakops.example.com.") var url: String
    @Option(help: "Trust this CA (PEM) for the deployment's certificate.") var caFile: String?
    @Option(help: "Where plain HTTP should redirect from (default: the same host on port 80).") var httpURL: String?
    @Option(help: "A JSON file {\"email\",\"password\"} of an operator, or - for standard input, to check the session cookie.") var credentials: String?
    @Flag(help: "Send failed sign-ins until the rate limit refuses them.") var probeLimits = false
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        guard let base = URL(string: url), base.scheme == "https" || base.scheme == "http", base.host != nil else {
            throw ValidationError("URL must be an absolute http(s) address such as https://zakops.example.com")
        }
        if let httpURL, URL(string: httpURL)?.host == nil { throw ValidationError("--http-url must be an absolute address") }
    }

    func run() async throws {
        var given: DeploymentScan.Credentials?
        if let credentials {
            let data = credentials == "-" ? FileHandle.standardInput.readDataToEndOfFile() : try Data(contentsOf: URL(fileURLWithPath: credentials))
            guard let decoded = try? JSONDecoder().decode(DeploymentScan.Credentials.self, from: data) else {
                throw ValidationError("--credentials must hold a JSON object with email and password")
            }
            given = decoded
        }
        let scan = DeploymentScan(base: URL(string: url)!, plainURL: httpURL.flatMap(URL.init(string:)), caFile: caFile, credentials: given, probeLimits: probeLimits)
        let report = try await scan.run()
        if json {
            CommandOutput.json(report)
        } else {
            print(report.text)
        }
        if !report.ok { throw ExitCode(1) }
    }
}
