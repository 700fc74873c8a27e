/// An error from a lower layer that knows which client-facing error it is (for example the
/// store's "database unavailable"), so the HTTP layer needs no knowledge of that layer.
public protocol AppErrorConvertible: Error {
    var appError: AppError { get }
}
