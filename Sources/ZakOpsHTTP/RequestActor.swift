import Synchronization

/// Who a request acted for, as the request log writes it: authentication records it here, and
/// the log middleware (which runs outside authentication and sees only its own copy of the
/// context) reads it when the response is done. One per request, shared by every copy of the
/// context.
public final class RequestActor: Sendable {
    private let state = Mutex<(principalID: String?, reference: String?)>((nil, nil))

    public init() {}

    /// Records the principal and the credential's reference: the first 16 hex digits of the
    /// session token's or key's stored SHA-256, as `PresentedCredential.reference` names it in
    /// every other log line — enough to find the session or key row, nothing to present.
    public func record(principalID: String, credentialHash: String?) {
        let reference = credentialHash.map { String($0.prefix(16)) }
        state.withLock { $0 = (principalID, reference) }
    }

    public var principalID: String? { state.withLock { $0.principalID } }
    public var credentialReference: String? { state.withLock { $0.reference } }
}
