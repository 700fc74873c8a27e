import HTTPTypes
import Hummingbird
import NIOCore

/// A response whose body is JSON text already written: the content type every ZakOps JSON
/// response has, in one place.
public enum JSONResponse {
    public static let contentType = "application/json; charset=utf-8"

    /// `text` as the body, with `headers` added to the content type.
    public static func make(_ text: String, status: HTTPResponse.Status = .ok, headers extra: HTTPFields = [:]) -> Response {
        make(ByteBuffer(string: text), status: status, headers: extra)
    }

    /// `body` as the body, with `headers` added to the content type.
    public static func make(_ body: ByteBuffer, status: HTTPResponse.Status = .ok, headers extra: HTTPFields = [:]) -> Response {
        var headers: HTTPFields = [.contentType: contentType]
        headers.append(contentsOf: extra)
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: body))
    }
}
