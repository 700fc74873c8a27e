import Foundation
import NIOCore
import Subprocess
import Synchronization
import SystemPackage
import ZakOpsHTTP
import ZakOpsCore
import ZakOpsTestSupport

/// The real `zakops` binary in a child process, for what only a process shows: exit codes,
/// signals, refusing to bind.
///
/// Started with swift-subprocess, not Foundation's `Process`: its `run()` on Linux over-reads
/// `/proc/self/fd` entries and crashed the suite now and then. Output goes to files, not pipes:
/// a file never fills up and never waits for another test's child to close a copy of its end.
/// A child still running when its object goes away is killed.
final class ZakOpsProcess: Sendable {
    /// The child's process id, for signals.
    let pid: pid_t
    private let status: Task<Int32, any Error>
    private let finished: FinishFlag
    private let stdoutFile: URL
    private let stderrFile: URL

    private final class FinishFlag: Sendable {
        let value = Atomic<Bool>(false)
    }

    static var binary: String {
        if let path = ProcessInfo.processInfo.environment["ZAKOPS_BIN"] { return path }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/zakops").path
    }

    init(_ arguments: [String], environment: [String: String], directory: URL? = nil, stdin: String? = nil) async throws {
        try await TestSlots.enter("a zakops child process")
        // Children that serve pick a free port for /metrics: several run at once.
        var env: [Environment.Key: String] = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "METRICS_PORT": "0"]
        for (name, value) in environment { env[Environment.Key(stringLiteral: name)] = value }
        let workingDirectory = try directory ?? TemporaryFolder.make()
        let outputs = try TemporaryFolder.make()
        stdoutFile = outputs.appendingPathComponent("stdout")
        stderrFile = outputs.appendingPathComponent("stderr")
        let stdinFile = outputs.appendingPathComponent("stdin")
        try Data((stdin ?? "").utf8).write(to: stdinFile)
        let input = try FileDescriptor.open(FilePath(stdinFile.path), .readOnly)
        let output = try FileDescriptor.open(FilePath(stdoutFile.path), .writeOnly, options: [.create, .truncate], permissions: [.ownerReadWrite])
        let error = try FileDescriptor.open(FilePath(stderrFile.path), .writeOnly, options: [.create, .truncate], permissions: [.ownerReadWrite])

        let (started, starting) = AsyncThrowingStream<pid_t, any Error>.makeStream()
        let finished = FinishFlag()
        self.finished = finished
        status = Task {
            defer { finished.value.store(true, ordering: .releasing) }
            do {
                let result = try await Subprocess.run(
                    .path(FilePath(Self.binary)), arguments: Arguments(arguments), environment: .custom(env),
                    workingDirectory: FilePath(workingDirectory.path),
                    input: .fileDescriptor(input, closeAfterSpawningProcess: true),
                    output: .fileDescriptor(output, closeAfterSpawningProcess: true),
                    error: .fileDescriptor(error, closeAfterSpawningProcess: true)
                ) { execution in
                    starting.yield(execution.processIdentifier.value)
                    starting.finish()
                }
                starting.finish()
                switch result.terminationStatus {
                case .exited(let code): return code
                case .signaled(let signal): return 128 + signal
                }
            } catch {
                starting.finish(throwing: error)
                throw error
            }
        }
        var iterator = started.makeAsyncIterator()
        guard let pid = try await iterator.next() else { throw TestSetupError("zakops did not start") }
        self.pid = pid
    }

    deinit { status.cancel() }

    /// Runs a command to completion and returns (exit code, stdout, stderr).
    static func run(_ arguments: [String], environment: [String: String], directory: URL? = nil, stdin: String? = nil, timeout: Duration = .seconds(60)) async throws -> (status: Int32, stdout: String, stderr: String) {
        let child = try await ZakOpsProcess(arguments, environment: environment, directory: directory, stdin: stdin)
        let status = try await child.wait(timeout: timeout)
        return (status, child.stdout, child.stderr)
    }

    /// Whether the child has not exited yet.
    var isRunning: Bool { !finished.value.load(ordering: .acquiring) }

    /// Waits for the process to exit and returns its exit code (128 + the signal when a signal
    /// ended it); kills it and fails after `timeout`.
    func wait(timeout: Duration = .seconds(60)) async throws -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while isRunning {
            if ContinuousClock.now > deadline {
                kill(pid, SIGKILL)
                _ = try? await status.value
                throw TestSetupError("zakops did not exit in time")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        return try await status.value
    }

    /// Sends SIGTERM.
    func terminate() { kill(pid, SIGTERM) }

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
            guard isRunning else { throw TestSetupError("zakops exited before listening") }
            guard ContinuousClock.now < deadline else { throw TestSetupError("zakops did not start listening") }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// A TCP port nothing listens on right now, for a server that must be told its port.
    ///
    /// Picked at random below the kernel's ephemeral range (32768 and up on Linux), where the
    /// suite's other servers (bound to port 0) and its outgoing connections get their ports:
    /// a port from that range could be handed to one of them before the caller binds it.
    /// The test's slot is taken first, so the port is not left unbound while it waits for one.
    static func freePort() async throws -> Int {
        try await TestSlots.enter("a port for a zakops child")
        for _ in 0..<200 {
            let port = Int.random(in: 20_000..<32_000)
            if canBind(port) { return port }
        }
        return 0
    }

    private static func canBind(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        return bound == 0
    }
}
