import SQLiteNIO

/// Explicit SQLite transactions on one leased connection.
enum SQLiteTransaction {
    /// `BEGIN IMMEDIATE` takes the write lock up front, so two writers wait on `busy_timeout`
    /// instead of deadlocking when both try to upgrade a read lock.
    static func run<T: Sendable>(on connection: SQLiteConnection, _ work: () async throws -> T) async throws -> T {
        _ = try await connection.query("BEGIN IMMEDIATE", [])
        do {
            let result = try await work()
            _ = try await connection.query("COMMIT", [])
            return result
        } catch {
            _ = try? await connection.query("ROLLBACK", [])
            throw error
        }
    }
}
