/// The two SQL dialects ZakOps stores data in.
public enum SQLDialectKind: String, Sendable, CaseIterable {
    case sqlite
    case postgres
}
