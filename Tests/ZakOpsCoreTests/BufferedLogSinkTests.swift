import ZakOpsTestSupport
import Foundation
import Testing
@testable import ZakOpsCore

@Suite("Buffered log output")
struct BufferedLogSinkTests {
    /// Reads what is available on a pipe without blocking for more.
    private func available(_ pipe: Pipe) -> String {
        let descriptor = pipe.fileHandleForReading.fileDescriptor
        let flags = fcntl(descriptor, F_GETFL)
        _ = fcntl(descriptor, F_SETFL, flags | O_NONBLOCK)
        var bytes = [UInt8](repeating: 0, count: 65536)
        let count = read(descriptor, &bytes, bytes.count)
        return count > 0 ? String(decoding: bytes[0..<count], as: UTF8.self) : ""
    }

    @Test("routine lines wait for a flush, urgent ones are written at once, order is kept")
    func ordering() throws {
        let pipe = Pipe()
        let sink = BufferedLogSink(descriptor: pipe.fileHandleForWriting.fileDescriptor, interval: .seconds(3600))
        sink.write("one")
        sink.write("two")
        #expect(available(pipe) == "")
        sink.write("three", urgent: true)
        #expect(available(pipe) == "one\ntwo\nthree\n")
        sink.write("four")
        sink.flush()
        #expect(available(pipe) == "four\n")
    }

    @Test("a full buffer is written without waiting for the interval")
    func fullBuffer() throws {
        let pipe = Pipe()
        let sink = BufferedLogSink(descriptor: pipe.fileHandleForWriting.fileDescriptor, interval: .seconds(3600), limit: 16)
        sink.write("0123456789")
        #expect(available(pipe) == "")
        sink.write("abcdefghij")
        #expect(available(pipe) == "0123456789\nabcdefghij\n")
    }
}
