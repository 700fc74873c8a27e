import Foundation

/// The migrations this binary carries, read from the bundled `sql/<dialect>/` folders.
public enum MigrationCatalog {
    /// Every migration of `dialect`, ordered by version.
    public static func migrations(for dialect: SQLDialectKind) throws -> [Migration] {
        guard let root = Bundle.module.url(forResource: "sql", withExtension: nil) else {
            throw StoreError.invalidMigration("the bundled migration folder is missing")
        }
        let folder = root.appendingPathComponent(dialect.rawValue, isDirectory: true)
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
            .filter { $0.hasSuffix(".sql") }
            .sorted()
        return try names.map { name in
            let version = String(name.dropLast(".sql".count))
            guard version.count > 5, version.prefix(4).allSatisfy(\.isNumber), version.dropFirst(4).first == "_" else {
                throw StoreError.invalidMigration("\(dialect.rawValue)/\(name) is not named NNNN_name.sql")
            }
            let data = try Data(contentsOf: folder.appendingPathComponent(name))
            return Migration(version: version, sql: String(decoding: data, as: UTF8.self))
        }
    }
}
