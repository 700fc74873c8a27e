import Foundation
import Logging
import ServiceLifecycle
import ZakOpsCore
import ZakOpsStore

/// Scheduled backups inside `zakops serve` (`BACKUP_SCHEDULE` hours, `BACKUP_DIR`,
/// `BACKUP_KEEP`): every instance looks every ten minutes; the one that finds the last success
/// older than the schedule takes the backup — one at a time (`Database.exclusively`) — then
/// deletes the oldest files of the folder beyond `BACKUP_KEEP`. A failure is logged and tried
/// again at the next look; preflight and the monitoring read the last success.
struct BackupJob: Service {
    let backups: BackupService
    let database: Database
    let folder: String
    let every: TimeInterval
    let keep: Int
    let clock: any AppClock
    let logger: Logger
    var checkInterval: Duration = .seconds(600)

    static let lockKey = AdvisoryLock.backup.rawValue
    static let suffix = ".backup.age"

    func run() async throws {
        while !Task.isShuttingDownGracefully {
            do {
                try await runIfDue()
            } catch {
                logger.error("scheduled backup failed", metadata: ["error_type": .string(String(describing: type(of: error))),
                                                                   "reason": .string((error as? AppError)?.problem ?? "")])
            }
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: checkInterval) }
            } catch {
                return
            }
        }
    }

    /// Takes a backup if one is due; returns its file, nil when not due or another instance holds it.
    @discardableResult
    func runIfDue() async throws -> String? {
        try await database.exclusively(Self.lockKey) { [backups, database, folder, every, keep, clock, logger] in
            let now = clock.now()
            if let last = try await BackupService.lastSuccess(in: database), now.timeIntervalSince(last) < every { return String?.none }
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            let name = "zakops-" + Timestamp.string(from: now).replacingOccurrences(of: ":", with: "").replacingOccurrences(of: ".", with: "") + Self.suffix
            let path = URL(fileURLWithPath: folder).appendingPathComponent(name).path
            let manifest = try await backups.create(to: path, by: ChangeContext(systemAt: now))
            logger.notice("scheduled backup written", metadata: ["file": .string(name), "bytes": .stringConvertible(manifest.dumpBytes)])
            // The names sort by time: keep the newest `keep`.
            let files = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasPrefix("zakops-") && $0.hasSuffix(Self.suffix) }.sorted()
            for old in files.dropLast(keep) { try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: folder).appendingPathComponent(old).path) }
            return path
        } ?? nil
    }
}
