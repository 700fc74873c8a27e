import Hummingbird
import HTTPTypes

/// Which methods each registered path answers, so an unmatched method gets 405 with `Allow`
/// (Hummingbird's router answers 404 for a known path with an unknown method).
public struct AllowedMethods: Sendable {
    private let routes: [(path: RouterPath, method: HTTPRequest.Method)]

    public init(routes: [(path: RouterPath, method: HTTPRequest.Method)]) {
        self.routes = routes
    }

    /// The methods registered for `path`, sorted; empty when no route matches the path.
    public func methods(for path: String) -> [String] {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true)
        var methods = Set<String>()
        for route in routes where Self.matches(route.path.components, segments[...]) {
            methods.insert(route.method.rawValue)
            if route.method == .get { methods.insert("HEAD") }
        }
        if !methods.isEmpty { methods.insert("OPTIONS") }
        return methods.sorted()
    }

    private static func matches(_ components: [RouterPath.Element], _ segments: ArraySlice<Substring>) -> Bool {
        guard let first = components.first else { return segments.isEmpty }
        if first.description == "**" {
            return true
        }
        guard let segment = segments.first, first ~= segment else { return false }
        return matches(Array(components.dropFirst()), segments.dropFirst())
    }
}
