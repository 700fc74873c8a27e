/// A request body whose fields are all declared: anything else is refused, not ignored, so a
/// client's typo (`stgae`) or an attempt to set a server-owned field (`risk`, `approved_by`)
/// is an error the client sees.
public protocol StrictDecodable: Decodable {
    static var knownFields: KnownFields { get }
}

/// The field names an object may have, and for nested objects theirs.
public struct KnownFields: Sendable {
    /// `nil` for a free-form object (any keys).
    let fields: [String: KnownFields?]?

    /// An object with exactly these fields; a nested entry describes an object-valued field.
    public init(_ names: [String], nested: [String: KnownFields] = [:]) {
        var fields: [String: KnownFields?] = [:]
        for name in names { fields[name] = nested[name] ?? KnownFields?.none }
        self.fields = fields
    }

    private init(freeForm: Void) { fields = nil }

    /// An object whose keys are the client's own (`company_info`).
    public static let freeForm = KnownFields(freeForm: ())

    /// The dotted paths of fields not declared. Client-chosen keys are never echoed: an unknown
    /// name longer than 64 characters or with characters outside `[A-Za-z0-9_]` is shown as `*`.
    func unknown(in object: [String: Any], prefix: String) -> [String] {
        guard let fields else { return [] }
        var unknown: [String] = []
        for (key, value) in object.sorted(by: { $0.key < $1.key }) {
            guard let entry = fields[key] else {
                let shown = key.count <= 64 && key.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) ? key : "*"
                unknown.append(prefix + shown)
                continue
            }
            if let nested = entry, let child = value as? [String: Any] {
                unknown += nested.unknown(in: child, prefix: prefix + key + ".")
            }
        }
        return unknown
    }
}
