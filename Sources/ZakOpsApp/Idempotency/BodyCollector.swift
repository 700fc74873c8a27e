import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ZakOpsCore
import ZakOpsHTTP

/// Collects a response body into one buffer (responses of creating routes are small JSON).
final class BodyCollector: ResponseBodyWriter, @unchecked Sendable {
    var buffer = ByteBuffer()

    func write(_ part: ByteBuffer) async throws {
        var part = part
        buffer.writeBuffer(&part)
    }

    func finish(_ trailingHeaders: HTTPFields?) async throws {}
}
