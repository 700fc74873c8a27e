import ZakOpsHTTP

/// A request's claim on an `Idempotency-Key`: set by the idempotency middleware, carried into
/// the change's transaction, which records the response there (so the key is answered exactly
/// when the change committed).
struct IdempotencyClaim: Sendable, Equatable {
    let principalID: String
    let key: String

    init(principalID: String, key: String) {
        self.principalID = principalID
        self.key = key
    }
}

/// Where the claim travels with the request.
enum IdempotencyClaimKey: RequestValueKey {
    typealias Value = IdempotencyClaim
}

extension AppRequestContext {
    /// The request's `Idempotency-Key` claim, when it has one (`IdempotencyMiddleware`).
    var idempotencyClaim: IdempotencyClaim? {
        get { values[IdempotencyClaimKey.self] }
        set { values[IdempotencyClaimKey.self] = newValue }
    }
}
