/// Names a value that a feature above ZakOpsHTTP attaches to a request (`AppRequestContext.values`).
public protocol RequestValueKey {
    associatedtype Value: Sendable
}

/// Per-request values keyed by type: the extension point through which the application carries
/// its own request state (an idempotency claim, say) without ZakOpsHTTP knowing of it.
public struct RequestValues: Sendable {
    private var storage: [ObjectIdentifier: any Sendable] = [:]

    public init() {}

    public subscript<Key: RequestValueKey>(_ key: Key.Type) -> Key.Value? {
        get { storage[ObjectIdentifier(key)] as? Key.Value }
        set { storage[ObjectIdentifier(key)] = newValue }
    }
}
