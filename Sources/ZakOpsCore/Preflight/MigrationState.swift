/// What the database says about migrations, as preflight and readiness need it.
public struct MigrationState: Sendable, Equatable {
    /// Versions known to this binary but not applied (for example `0002_create_settings`).
    public var pending: [String]
    /// Applied versions whose recorded checksum differs from this binary's file.
    public var changed: [String]
    /// Applied versions this binary does not know (the database is newer than the binary).
    public var unknown: [String]

    public init(pending: [String] = [], changed: [String] = [], unknown: [String] = []) {
        self.pending = pending
        self.changed = changed
        self.unknown = unknown
    }

    /// Whether the schema is exactly what this binary expects.
    public var isCurrent: Bool { pending.isEmpty && changed.isEmpty && unknown.isEmpty }

    /// Whether this binary can serve on it: every migration it knows applied as it knows it.
    /// Newer migrations it does not know are allowed — the expand step of an expand/contract
    /// upgrade adds what old binaries ignore, so the instances not yet replaced keep serving
    /// (and a rollback can start) while the release rolls out (docs/operations.md).
    public var isUsable: Bool { pending.isEmpty && changed.isEmpty }

    /// A one-line summary naming the offending versions.
    public var summary: String {
        var parts: [String] = []
        if !pending.isEmpty { parts.append("pending: " + pending.joined(separator: ", ")) }
        if !changed.isEmpty { parts.append("checksum changed: " + changed.joined(separator: ", ")) }
        if !unknown.isEmpty { parts.append("applied but unknown to this binary: " + unknown.joined(separator: ", ")) }
        return parts.isEmpty ? "all migrations applied" : parts.joined(separator: "; ")
    }
}
