import ZakOpsTestSupport
import Foundation
import Synchronization

/// A Server-Sent Events client over a raw socket: reads in the background, so a test can wait
/// for frames while it makes changes, and can stop reading altogether (a stalled consumer).
final class SSEClient: Sendable {
    private let fd: Int32
    private struct State {
        var raw: [UInt8] = []
        var closed = false
    }
    private final class Shared: Sendable {
        let state = Mutex(State())
    }
    private let shared = Shared()

    /// Opens `GET path` with the given headers (a cookie or `Authorization`).
    init(port: Int, path: String = "/api/events/stream", headers: [String: String]) throws {
        fd = try RawHTTP.connect(port: port, host: "127.0.0.1", timeout: 60)
        var request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nAccept: text/event-stream\r\n"
        for (name, value) in headers { request += "\(name): \(value)\r\n" }
        request += "\r\n"
        let bytes = Array(request.utf8)
        let fd = self.fd
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        let shared = self.shared
        Thread.detachNewThread {
            var buffer = [UInt8](repeating: 0, count: 16_384)
            while true {
                let n = recv(fd, &buffer, buffer.count, 0)
                if n <= 0 {
                    // The reader owns the descriptor: closed here, once nothing reads it any
                    // more (leaked descriptors made Foundation's Process.run() crash), and under
                    // the lock, so that `close()` never shuts down a reused descriptor number.
                    shared.state.withLock { state in
                        state.closed = true
                        Glibc.close(fd)
                    }
                    return
                }
                shared.state.withLock { $0.raw.append(contentsOf: buffer[0..<n]) }
            }
        }
    }

    deinit { close() }

    /// Ends the connection; the reading thread then closes the descriptor.
    func close() {
        let fd = self.fd
        shared.state.withLock { state in
            if !state.closed { shutdown(fd, Int32(SHUT_RDWR)) }
        }
    }

    /// Whether the stream has ended: the socket closed, or the response's last chunk arrived
    /// (the connection itself may stay open for another request).
    var isClosed: Bool {
        shared.state.withLock { state in
            state.closed || state.raw.count >= 5 && Array(state.raw.suffix(7)) == Array("\r\n0\r\n\r\n".utf8)
        }
    }

    /// The status code, once the head has arrived.
    var status: Int? {
        let text = String(decoding: shared.state.withLock { $0.raw }, as: UTF8.self)
        guard let line = text.split(separator: "\r\n").first, text.contains("\r\n\r\n") else { return nil }
        return Int(line.split(separator: " ").dropFirst().first ?? "")
    }

    var head: String {
        let text = String(decoding: shared.state.withLock { $0.raw }, as: UTF8.self)
        return text.range(of: "\r\n\r\n").map { String(text[..<$0.lowerBound]) } ?? ""
    }

    /// The stream so far, de-chunked (complete chunks only).
    var body: String {
        let text = String(decoding: shared.state.withLock { $0.raw }, as: UTF8.self)
        guard let split = text.range(of: "\r\n\r\n") else { return "" }
        var rest = Array(text[split.upperBound...].utf8)[...]
        guard head.lowercased().contains("transfer-encoding: chunked") else { return String(decoding: rest, as: UTF8.self) }
        var output: [UInt8] = []
        while let lineEnd = rest.firstIndex(of: 0x0D), rest.index(after: lineEnd) < rest.endIndex,
              let size = Int(String(decoding: rest[rest.startIndex..<lineEnd], as: UTF8.self), radix: 16), size > 0 {
            let start = lineEnd + 2
            guard rest.endIndex >= start + size + 2 else { break }
            output += rest[start..<(start + size)]
            rest = rest[(start + size + 2)...]
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// The ids of the events received so far, in order.
    var eventIDs: [Int64] {
        body.components(separatedBy: "\n").compactMap { $0.hasPrefix("id: ") ? Int64($0.dropFirst(4)) : nil }
    }

    /// Waits until `condition` holds (true) or the time is up (false).
    func wait(for timeout: Duration = .seconds(20), _ condition: (SSEClient) -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while !condition(self) {
            guard ContinuousClock.now < deadline else { return false }
            try await Task.sleep(for: .milliseconds(20))
        }
        return true
    }
}
