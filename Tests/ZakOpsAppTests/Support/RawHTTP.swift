import ZakOpsTestSupport
import Foundation
import NIOCore
import ZakOpsHTTP
#if canImport(Glibc)
import Glibc
#endif

/// A deliberately small HTTP/1.1 client over a plain TCP socket, for requests the high-level
/// clients will not send (chunked bodies, raw bytes) and for servers in another process.
enum RawHTTP {
    struct Response {
        let status: Int
        let headers: [(String, String)]
        let body: String

        func header(_ name: String) -> String? {
            headers.first { $0.0.lowercased() == name.lowercased() }?.1
        }
    }

    enum Failure: Error { case connect(Int32), malformed }

    /// Sends `request` (complete bytes) and reads one response. Blocking socket calls run on a
    /// Dispatch thread, never on Swift concurrency's small cooperative pool.
    /// `source` binds the client socket to a local address first (such as 127.0.0.2, to come
    /// from another peer than 127.0.0.1).
    /// The timeout is generous: under the whole parallel suite a login can wait long for bcrypt.
    static func send(_ request: String, port: Int, host: String = "127.0.0.1", source: String? = nil, timeout: Int = 60) async throws -> Response {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result {
                    try parse(try exchange(Array(request.utf8), port: port, host: host, source: source, timeout: timeout))
                })
            }
        }
    }

    /// Whether something accepts TCP connections on the port (checked off the cooperative pool).
    static func listening(port: Int) async -> Bool {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: isListening(port: port)) }
        }
    }

    /// Whether something accepts TCP connections on the port.
    static func isListening(port: Int, host: String = "127.0.0.1") -> Bool {
        guard let fd = try? connect(port: port, host: host, timeout: 2) else { return false }
        close(fd)
        return true
    }

    static func get(_ path: String, port: Int, headers: [String: String] = [:]) async throws -> Response {
        var request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
        for (name, value) in headers { request += "\(name): \(value)\r\n" }
        return try await send(request + "\r\n", port: port)
    }

    static func connect(port: Int, host: String, source: String? = nil, timeout: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        if let source {
            var local = sockaddr_in()
            local.sin_family = sa_family_t(AF_INET)
            inet_pton(AF_INET, source, &local.sin_addr)
            let bound = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard bound == 0 else {
                let code = errno
                close(fd)
                throw Failure.connect(code)
            }
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, host, &address.sin_addr)
        var tv = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            let code = errno
            close(fd)
            throw Failure.connect(code)
        }
        return fd
    }

    private static func exchange(_ bytes: [UInt8], port: Int, host: String, source: String?, timeout: Int) throws -> [UInt8] {
        let fd = try connect(port: port, host: host, source: source, timeout: timeout)
        defer { close(fd) }
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { break }
            sent += n
        }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while !isComplete(received) {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            received.append(contentsOf: buffer[0..<n])
        }
        return received
    }

    /// Whether `data` holds a whole response (by Content-Length or the last chunk).
    private static func isComplete(_ data: [UInt8]) -> Bool {
        let text = String(decoding: data, as: UTF8.self)
        guard let split = text.range(of: "\r\n\r\n") else { return false }
        let head = text[..<split.lowerBound].lowercased()
        let body = text[split.upperBound...]
        if let line = head.split(separator: "\r\n").first(where: { $0.hasPrefix("content-length:") }),
           let length = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) {
            return body.utf8.count >= length
        }
        if head.contains("transfer-encoding: chunked") { return body.hasSuffix("0\r\n\r\n") }
        return head.hasPrefix("http/1.1 204") || head.hasPrefix("http/1.1 304")
    }

    private static func parse(_ data: [UInt8]) throws -> Response {
        let text = String(decoding: data, as: UTF8.self)
        guard let split = text.range(of: "\r\n\r\n") else { throw Failure.malformed }
        let head = text[..<split.lowerBound].components(separatedBy: "\r\n")
        guard let statusLine = head.first, statusLine.split(separator: " ").count >= 2,
              let status = Int(statusLine.split(separator: " ")[1]) else { throw Failure.malformed }
        let headers = head.dropFirst().compactMap { line -> (String, String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        var body = String(text[split.upperBound...])
        if headers.contains(where: { $0.0.lowercased() == "transfer-encoding" && $0.1.lowercased().contains("chunked") }) {
            body = dechunk(body)
        }
        return Response(status: status, headers: headers, body: body)
    }

    private static func dechunk(_ text: String) -> String {
        var output = ""
        var rest = Substring(text)
        while let lineEnd = rest.range(of: "\r\n"), let size = Int(rest[..<lineEnd.lowerBound], radix: 16), size > 0 {
            let start = lineEnd.upperBound
            let end = rest.utf8.index(start, offsetBy: size)
            output += rest[start..<end]
            rest = rest[end...].dropFirst(2)
        }
        return output
    }
}
