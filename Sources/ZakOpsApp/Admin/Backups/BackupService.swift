import Crypto
import Foundation
import Logging
import SQLKit
import Subprocess
import SystemPackage
import ZakOpsCore
import ZakOpsStore

/// Encrypted backups (`zakops backup create|verify|restore`): a consistent snapshot of the
/// database — SQLite's `VACUUM INTO`, PostgreSQL's `pg_dump` custom format on an exported
/// snapshot — streamed through `age` to the public key `BACKUP_AGE_RECIPIENT`, so that the
/// server can write backups it cannot read. Restoring needs the identity (private key) file.
///
/// Inside the encryption: a header line, the dump in length-prefixed chunks, an empty chunk, and
/// the manifest (format, dialect, schema version, time, row counts per table, the dump's size
/// and SHA-256). A PostgreSQL dump never touches the disk in clear; a SQLite snapshot is written
/// to a private temporary folder next to the database (the database itself is there in clear)
/// and deleted as soon as it is read.
public struct BackupService: Sendable {
    let database: Database
    let settings: Settings
    let logger: Logger

    public init(database: Database, settings: Settings, logger: Logger) {
        self.database = database
        self.settings = settings
        self.logger = logger
    }

    public struct Manifest: Sendable, Codable, Equatable {
        public let format: Int
        public let dialect: String
        public let schemaVersion: String
        public let createdAt: String
        public let rowCounts: [String: Int]
        public let dumpBytes: Int
        public let dumpSHA256: String
        public let zakopsVersion: String
        enum CodingKeys: String, CodingKey {
            case format, dialect
            case schemaVersion = "schema_version"
            case createdAt = "created_at"
            case rowCounts = "row_counts"
            case dumpBytes = "dump_bytes"
            case dumpSHA256 = "dump_sha256"
            case zakopsVersion = "zakops_version"
        }
    }

    static let header = Array("ZAKOPS-BACKUP-1\n".utf8)
    static let chunkSize = 256 * 1024
    static let lastSuccessKey = "backup.last_success"

    // MARK: - Create

    /// The command line's form, audited as `cli`.
    public func create(to path: String, at time: Date) async throws -> Manifest {
        try await create(to: path, by: ChangeContext(commandLineAt: time))
    }

    /// Writes an encrypted backup to `path` (a new file, mode 0600) and records the time of the
    /// last success (for monitoring and preflight); audited as `change`'s actor.
    func create(to path: String, by change: ChangeContext) async throws -> Manifest {
        let time = change.time
        guard let recipient = settings.backupAgeRecipient else {
            throw AppError(.conflict, field: "BACKUP_AGE_RECIPIENT", problem: "is not set: backups are encrypted to it")
        }
        let schema = try await MigrationRunner(database: database, logger: logger).status().filter { $0.state == .applied }.map(\.version).max() ?? "none"
        let output: FileDescriptor
        do {
            output = try FileDescriptor.open(FilePath(path), .writeOnly, options: [.create, .exclusiveCreate], permissions: [.ownerReadWrite])
        } catch {
            throw AppError(.conflict, field: "out", problem: "cannot be created (it may exist already)")
        }
        var finished = false
        defer { if !finished { try? FileManager.default.removeItem(atPath: path) } }
        let result = try await Subprocess.run(.name("age"), arguments: ["--encrypt", "--recipient", recipient],
                                              input: .inputWriter, output: .fileDescriptor(output, closeAfterSpawningProcess: true),
                                              error: .string(limit: 4096)) { execution in
            let writer = ChunkWriter(execution.standardInputWriter)
            try await writer.raw(Self.header)
            let counts = try await dump(into: writer)
            try await writer.endOfDump()
            let manifest = Manifest(format: 1, dialect: settings.database.dialectName, schemaVersion: schema, createdAt: Timestamp.string(from: time),
                                    rowCounts: counts, dumpBytes: await writer.bytes, dumpSHA256: await writer.digest(), zakopsVersion: BuildInfo.version)
            try await writer.raw(Array(try JSONText.encode(manifest).utf8))
            try await execution.standardInputWriter.finish()
            return manifest
        }
        guard case .exited(0) = result.terminationStatus else {
            throw AppError(.internalError, logDetail: "age failed: \(result.standardError)")
        }
        finished = true
        let stamp = Timestamp.string(from: time)
        let manifest = result.closureResult
        try await database.transaction { sql in
            try await sql.insert(into: "settings").columns("key", "value", "updated_at", "updated_by")
                .values(SQLBind(Self.lastSuccessKey), SQLBind(stamp), SQLBind(stamp), SQLBind(change.actorID))
                .onConflict(with: ["key"]) { $0.set("value", to: SQLBind(stamp)).set("updated_at", to: SQLBind(stamp)) }
                .run()
            try await AuditLog.record(action: "backup.created", targetKind: "system", targetID: "backup", changes: [
                "dump_sha256": FieldChange(before: nil, after: .string(manifest.dumpSHA256)),
                "dump_bytes": FieldChange(before: nil, after: .number(Double(manifest.dumpBytes))),
            ], context: change, in: sql)
        }
        return manifest
    }

    /// Streams the dump into `writer`; returns the row counts of the same snapshot.
    private func dump(into writer: ChunkWriter) async throws -> [String: Int] {
        switch settings.database {
        case .sqlite(let path):
            // A private folder beside the database: the snapshot is in clear only there, briefly.
            let folder = URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent(".backup-\(RandomToken.base32(RandomToken.bytes(8)))")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
            defer { try? FileManager.default.removeItem(at: folder) }
            let snapshot = folder.appendingPathComponent("snapshot.sqlite").path
            try await database.snapshotSQLite(to: snapshot)
            let counts = try await Self.sqliteCounts(snapshot, logger: logger)
            guard let handle = FileHandle(forReadingAtPath: snapshot) else { throw AppError(.internalError, logDetail: "snapshot unreadable") }
            defer { try? handle.close() }
            while let data = try handle.read(upToCount: Self.chunkSize), !data.isEmpty {
                try await writer.chunk(Array(data))
            }
            return counts
        case .postgres(let location):
            return try await database.withExportedSnapshot { snapshot, sql in
                let counts = try await Self.counts(in: sql, tables: try await Self.postgresTables(sql))
                let result = try await Subprocess.run(.name("pg_dump"),
                                                      arguments: .init(["--format=custom", "--no-owner", "--no-privileges", "--snapshot=\(snapshot)"] + Self.connection(location)),
                                                      environment: Self.passwordEnvironment(location), input: .none, output: .sequence, error: .string(limit: 4096)) { execution in
                    for try await buffer in execution.standardOutput {
                        try await writer.chunk(buffer.withUnsafeBytes { Array($0) })
                    }
                }
                guard case .exited(0) = result.terminationStatus else {
                    throw AppError(.internalError, logDetail: "pg_dump failed: \(result.standardError)")
                }
                return counts
            }
        }
    }

    /// When the last backup succeeded, as `create` recorded it (nil: never).
    public static func lastSuccess(in database: Database) async throws -> Date? {
        try await database.read { sql in
            try await sql.select().column("value").from("settings").where("key", .equal, SQLBind(lastSuccessKey)).first()?
                .decode(column: "value", as: String.self)
        }.flatMap(Timestamp.date(from:))
    }

    // MARK: - Verify and restore

    /// Decrypts `file` with `identity` and checks the dump against its manifest; returns it.
    /// A wrong identity, a changed byte or a truncated file is refused with a clear message.
    public static func verify(file: String, identity: String) async throws -> Manifest {
        try await read(file: file, identity: identity) { _ in }
    }

    /// Restores `file` into the database of the settings. Refuses a target that holds data unless
    /// `force`, a backup of the other database kind, and one from a newer schema than this
    /// binary knows. The backup is verified whole before anything is written.
    public func restore(file: String, identity: String, force: Bool) async throws -> Manifest {
        let manifest = try await Self.verify(file: file, identity: identity)
        try Self.checkRestorable(manifest, into: database.dialect, known: try MigrationCatalog.migrations(for: database.dialect).map(\.version))
        if !force, try await holdsData() {
            throw AppError(.conflict, field: "target", problem: "holds data: restore into an empty database, or pass --force to replace it")
        }
        switch settings.database {
        case .sqlite(let path):
            // Written beside the database, then renamed over it: the old file or the new, never half.
            let temporary = path + ".restore-\(RandomToken.base32(RandomToken.bytes(6)))"
            guard FileManager.default.createFile(atPath: temporary, contents: nil, attributes: [.posixPermissions: 0o600]),
                  let handle = FileHandle(forWritingAtPath: temporary) else { throw AppError(.internalError, logDetail: "cannot write beside the database") }
            do {
                _ = try await Self.read(file: file, identity: identity) { bytes in try handle.write(contentsOf: Data(bytes)) }
                try handle.close()
            } catch {
                try? handle.close()
                try? FileManager.default.removeItem(atPath: temporary)
                throw error
            }
            await database.close()
            for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
            // rename(2): atomic, whether or not the target exists.
            guard rename(temporary, path) == 0 else {
                try? FileManager.default.removeItem(atPath: temporary)
                throw AppError(.internalError, logDetail: "the restored file could not replace the database")
            }
        case .postgres(let location):
            // One transaction: the target is replaced whole or not at all.
            let result = try await Subprocess.run(.name("pg_restore"),
                                                  arguments: .init(["--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error"]
                                                      + Self.connection(location, flag: "--dbname")),
                                                  environment: Self.passwordEnvironment(location), input: .inputWriter, output: .discarded,
                                                  error: .string(limit: 8192)) { execution in
                _ = try await Self.read(file: file, identity: identity) { bytes in _ = try await execution.standardInputWriter.write(bytes) }
                try await execution.standardInputWriter.finish()
            }
            guard case .exited(0) = result.terminationStatus else {
                throw AppError(.internalError, logDetail: "pg_restore failed: \(result.standardError)")
            }
        }
        return manifest
    }

    /// Refuses a backup of the other database kind, or one from a schema this binary does not
    /// know (a newer release's): restore it with that release.
    static func checkRestorable(_ manifest: Manifest, into dialect: SQLDialectKind, known: [String]) throws {
        guard manifest.dialect == dialect.rawValue else {
            throw AppError(.conflict, field: "file", problem: "is a \(manifest.dialect) backup; the target is \(dialect.rawValue)")
        }
        guard manifest.schemaVersion == "none" || known.contains(manifest.schemaVersion) else {
            throw AppError(.conflict, field: "file", problem: "comes from a newer schema (\(manifest.schemaVersion)) than this binary knows: restore it with that release")
        }
    }

    /// Whether the target has operators or deals.
    private func holdsData() async throws -> Bool {
        do {
            return try await database.read { sql in
                let operators = try await sql.select().column(SQLFunction("count", args: SQLLiteral.all), as: "n").from("operators").first()?
                    .decode(column: "n", as: Int.self) ?? 0
                let deals = try await sql.select().column(SQLFunction("count", args: SQLLiteral.all), as: "n").from("deals").first()?
                    .decode(column: "n", as: Int.self) ?? 0
                return operators + deals > 0
            }
        } catch {
            // No tables: an empty, unmigrated database.
            return false
        }
    }

    /// Decrypts and parses a backup, handing the dump's bytes to `sink`; checks them against the
    /// manifest at the end.
    static func read(file: String, identity: String, sink: @escaping @Sendable ([UInt8]) async throws -> Void) async throws -> Manifest {
        guard FileManager.default.isReadableFile(atPath: file) else { throw AppError(.conflict, field: "file", problem: "cannot be read") }
        guard FileManager.default.isReadableFile(atPath: identity) else { throw AppError(.conflict, field: "identity", problem: "cannot be read") }
        let result = try await Subprocess.run(.name("age"), arguments: ["--decrypt", "--identity", identity, file], input: .none, output: .sequence,
                                              error: .string(limit: 4096)) { execution in
            var parser = BackupParser()
            for try await buffer in execution.standardOutput {
                for piece in try parser.feed(buffer.withUnsafeBytes { Array($0) }) { try await sink(piece) }
            }
            return try parser.finish()
        }
        guard case .exited(0) = result.terminationStatus else {
            let message = result.standardError
            if message.contains("no identity matched") {
                throw AppError(.conflict, field: "identity", problem: "does not open this backup (it was encrypted to another recipient)")
            }
            throw AppError(.conflict, field: "file", problem: "is damaged or was changed (age could not authenticate it)")
        }
        guard let manifest = result.closureResult else { throw AppError(.conflict, field: "file", problem: "is incomplete (no manifest)") }
        return manifest
    }

    // MARK: - Helpers

    static func connection(_ location: PostgresLocation, flag: String = "--dbname") -> [String] {
        // The password never goes on the command line (visible to every local user): PGPASSWORD.
        var parts = ["host=\(location.host)", "port=\(location.port)", "user=\(location.username)", "dbname=\(location.database)"]
        parts.append("sslmode=\(location.tls == .require ? "verify-full" : location.tls.rawValue)")
        return [flag, parts.joined(separator: " ")]
    }

    static func passwordEnvironment(_ location: PostgresLocation) -> Environment {
        guard let password = location.password else { return .inherit }
        return .inherit.updating(["PGPASSWORD": password.value])
    }

    static func postgresTables(_ sql: any SQLDatabase) async throws -> [String] {
        try await sql.select().column("table_name").from(SQLQualifiedTable("tables", space: "information_schema"))
            .where("table_schema", .equal, SQLBind("public")).where("table_type", .equal, SQLBind("BASE TABLE")).orderBy("table_name").all()
            .map { try $0.decode(column: "table_name", as: String.self) }
    }

    static func counts(in sql: any SQLDatabase, tables: [String]) async throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for table in tables {
            counts[table] = try await sql.select().column(SQLFunction("count", args: SQLLiteral.all), as: "n").from(SQLIdentifier(table)).first()?
                .decode(column: "n", as: Int.self) ?? 0
        }
        return counts
    }

    static func sqliteCounts(_ path: String, logger: Logger) async throws -> [String: Int] {
        try await Database.withOpened(.sqlite(path: path), poolSize: 1, deadline: .seconds(30), create: false, logger: logger) { snapshot in
            try await snapshot.read { sql in
                let tables = try await sql.select().column("name").from("sqlite_master").where("type", .equal, SQLBind("table"))
                    .where("name", .notLike, SQLBind("sqlite_%")).orderBy("name").all().map { try $0.decode(column: "name", as: String.self) }
                return try await counts(in: sql, tables: tables)
            }
        }
    }
}

/// Frames the dump into length-prefixed chunks on age's input, hashing and counting it.
private actor ChunkWriter {
    let writer: StandardInputWriter
    var hash = SHA256()
    var bytes = 0

    init(_ writer: StandardInputWriter) { self.writer = writer }

    func raw(_ data: [UInt8]) async throws { _ = try await writer.write(data) }

    func chunk(_ data: [UInt8]) async throws {
        guard !data.isEmpty else { return }
        hash.update(data: data)
        bytes += data.count
        _ = try await writer.write(BackupParser.lengthPrefix(data.count) + data)
    }

    func endOfDump() async throws { _ = try await writer.write(BackupParser.lengthPrefix(0)) }

    func digest() -> String { hash.finalize().map { String(format: "%02x", $0) }.joined() }
}

/// Reads the container back: header, chunks, the empty chunk, the manifest.
struct BackupParser {
    private var buffer: [UInt8] = []
    private var state = State.header
    private var hash = SHA256()
    private var bytes = 0

    private enum State { case header, length, chunk(Int), manifest }

    static func lengthPrefix(_ count: Int) -> [UInt8] {
        let value = UInt32(count)
        return [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]
    }

    /// Takes decrypted bytes; returns the dump's bytes they complete.
    mutating func feed(_ data: [UInt8]) throws -> [[UInt8]] {
        buffer += data
        var pieces: [[UInt8]] = []
        loop: while true {
            switch state {
            case .header:
                guard buffer.count >= BackupService.header.count else { break loop }
                guard Array(buffer.prefix(BackupService.header.count)) == BackupService.header else {
                    throw AppError(.conflict, field: "file", problem: "is not a ZakOps backup")
                }
                buffer.removeFirst(BackupService.header.count)
                state = .length
            case .length:
                guard buffer.count >= 4 else { break loop }
                let length = Int(buffer[0]) << 24 | Int(buffer[1]) << 16 | Int(buffer[2]) << 8 | Int(buffer[3])
                buffer.removeFirst(4)
                state = length == 0 ? .manifest : .chunk(length)
            case .chunk(let length):
                guard buffer.count >= length else { break loop }
                let piece = Array(buffer.prefix(length))
                buffer.removeFirst(length)
                hash.update(data: piece)
                bytes += piece.count
                pieces.append(piece)
                state = .length
            case .manifest:
                break loop
            }
        }
        return pieces
    }

    /// The manifest, once everything was read, checked against the dump; nil if the stream ended early.
    mutating func finish() throws -> BackupService.Manifest? {
        guard case .manifest = state else { return nil }
        guard let manifest = try? JSONDecoder().decode(BackupService.Manifest.self, from: Data(buffer)) else {
            throw AppError(.conflict, field: "file", problem: "has no readable manifest")
        }
        let digest = hash.finalize().map { String(format: "%02x", $0) }.joined()
        guard manifest.dumpSHA256 == digest, manifest.dumpBytes == bytes else {
            throw AppError(.conflict, field: "file", problem: "holds a dump that differs from its manifest")
        }
        return manifest
    }
}
