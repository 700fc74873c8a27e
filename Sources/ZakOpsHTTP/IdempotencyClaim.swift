/// A request's claim on an `Idempotency-Key`: set by the idempotency middleware, carried into
/// the change's transaction, which records the response there (so the key is answered exactly
/// when the change committed).
public struct IdempotencyClaim: Sendable, Equatable {
    public let principalID: String
    public let key: String

    public init(principalID: String, key: String) {
        self.principalID = principalID
        self.key = key
    }
}
