import Foundation
import NIOCore
import ZakOpsHTTP
import ZakOpsCore

/// The real `zakops` binary in a child process, for what only a process shows: exit codes,
/// signals, refusing to bind.
///
/// Its output goes to files, not pipes: reading a pipe to its end blocks a thread of Swift's
/// small cooperative pool until every copy of the write end is closed, and a child started at
/// the same moment by another test can hold a copy for as long as it runs; a full pipe would
/// also stop a talkative child.
final class ZakOpsProcess: @unchecked Sendable {
    let process = Process()
    private let stdoutFile: URL
    private let stderrFile: URL

    static var binary: String {
        if let path = ProcessInfo.processInfo.environment["ZAKOPS_BIN"] { return path }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/zakops").path
    }

    init(_ arguments: [String], environment: [String: String], directory: URL? = nil, stdin: String? = nil) throws {
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = arguments
        var env = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]
        env.merge(environment) { _, new in new }
        process.environment = env
        process.currentDirectoryURL = try directory ?? TemporaryFolder.make()
        let outputs = try TemporaryFolder.make()
        stdoutFile = outputs.appendingPathComponent("stdout")
        stderrFile = outputs.appendingPathComponent("stderr")
        let stdinFile = outputs.appendingPathComponent("stdin")
        try Data((stdin ?? "").utf8).write(to: stdinFile)
        for file in [stdoutFile, stderrFile] {
            guard FileManager.default.createFile(atPath: file.path, contents: nil) else { throw TestSetupError("cannot create \(file.path)") }
        }
        let handles = try (
            input: FileHandle(forReadingFrom: stdinFile),
            output: FileHandle(forWritingTo: stdoutFile),
            error: FileHandle(forWritingTo: stderrFile)
        )
        // The child has its own copies once it runs; ours are closed whatever happens.
        defer { for handle in [handles.input, handles.output, handles.error] { try? handle.close() } }
        process.standardInput = handles.input
        process.standardOutput = handles.output
        process.standardError = handles.error
        try ProcessLaunch.run(process)
    }

    /// Runs a command to completion and returns (exit code, stdout, stderr).
    static func run(_ arguments: [String], environment: [String: String], directory: URL? = nil, stdin: String? = nil, timeout: Duration = .seconds(60)) async throws -> (status: Int32, stdout: String, stderr: String) {
        let child = try ZakOpsProcess(arguments, environment: environment, directory: directory, stdin: stdin)
        let status = try await child.wait(timeout: timeout)
        return (status, child.stdout, child.stderr)
    }

    /// Waits for the process to exit; kills it and fails after `timeout`.
    func wait(timeout: Duration = .seconds(60)) async throws -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now > deadline {
                process.interrupt()
                kill(process.processIdentifier, SIGKILL)
                throw TestSetupError("zakops did not exit in time")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        return process.terminationStatus
    }

    /// Sends SIGTERM.
    func terminate() { kill(process.processIdentifier, SIGTERM) }

    /// What the child has written to standard output so far (all of it once it has exited).
    var stdout: String { Self.contents(of: stdoutFile) }
    /// What the child has written to standard error so far.
    var stderr: String { Self.contents(of: stderrFile) }

    private static func contents(of file: URL) -> String {
        String(decoding: (try? Data(contentsOf: file)) ?? Data(), as: UTF8.self)
    }

    /// Waits until the port accepts connections (or the process exits).
    func waitUntilListening(port: Int, timeout: Duration = .seconds(30)) async throws {
        let deadline = ContinuousClock.now + timeout
        while !(await RawHTTP.listening(port: port)) {
            guard process.isRunning else { throw TestSetupError("zakops exited before listening") }
            guard ContinuousClock.now < deadline else { throw TestSetupError("zakops did not start listening") }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// A TCP port nothing listens on right now.
    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        var bound = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &bound) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return Int(UInt16(bigEndian: bound.sin_port))
    }
}
