import Foundation
import SQLKit
import ZakOpsCore
import ZakOpsStore

/// `zakops secrets rotate`: re-seals every value sealed at rest under the current
/// `DATA_ENCRYPTION_KEY` — TOTP seeds, webhook secrets (current and previous), and mail waiting
/// in the outbox or the DLQ — and seals values stored before sealing existed. Once it has run,
/// `DATA_ENCRYPTION_KEY_PREVIOUS` can be removed.
///
/// Everything is re-sealed in one transaction, the rows locked; a value that opens with neither
/// key stops the run before anything is written (it would be lost).
public struct SecretRotation: Sendable {
    let database: Database
    let keys: DataKeyRing

    public init(database: Database, keys: DataKeyRing) {
        self.database = database
        self.keys = keys
    }

    public struct Result: Sendable, Codable {
        public let dryRun: Bool
        public let keyID: String
        public let totpSeeds: Int
        public let webhookSecrets: Int
        public let mails: Int
        enum CodingKeys: String, CodingKey {
            case mails
            case dryRun = "dry_run"
            case keyID = "key_id"
            case totpSeeds = "totp_seeds"
            case webhookSecrets = "webhook_secrets"
        }
    }

    public func rotate(dryRun: Bool, at time: Date) async throws -> Result {
        let change = ChangeContext(commandLineAt: time)
        let counts = try await database.transaction { [keys] sql -> (Int, Int, Int) in
            var totp = 0, webhooks = 0, mails = 0
            for row in try await sql.select().columns("id", "totp_secret").from("operators").where("totp_secret", .isNot, SQLLiteral.null).for(.update).all() {
                let id = try row.decode(column: "id", as: String.self)
                guard let sealed = try Self.reseal(try row.decode(column: "totp_secret", as: String.self), context: TOTPService.sealContext(id), keys: keys)
                else { continue }
                totp += 1
                if !dryRun { try await sql.update("operators").set("totp_secret", to: SQLBind(sealed)).where("id", .equal, SQLBind(id)).run() }
            }
            for row in try await sql.select().columns("id", "secret", "previous_secret").from("webhooks").for(.update).all() {
                let id = try row.decode(column: "id", as: String.self)
                var update = sql.update("webhooks").where("id", .equal, SQLBind(id))
                var changed = false
                if let sealed = try Self.reseal(try row.decode(column: "secret", as: String.self), context: Webhook.sealContext(id), keys: keys) {
                    update = update.set("secret", to: SQLBind(sealed))
                    changed = true
                }
                if let previous = try row.decode(column: "previous_secret", as: String?.self),
                   let sealed = try Self.reseal(previous, context: Webhook.sealContext(id), keys: keys) {
                    update = update.set("previous_secret", to: SQLBind(sealed))
                    changed = true
                }
                guard changed else { continue }
                webhooks += 1
                if !dryRun { try await update.run() }
            }
            for row in try await sql.select().columns("id", "payload").from("outbox").where("consumer", .equal, SQLBind(OutboxMailer.consumer))
                .where("status", .notEqual, SQLBind(OutboxRow.Status.delivered.rawValue)).for(.update).all() {
                let id = try row.decode(column: "id", as: String.self)
                guard let sealed = try Self.reseal(try row.decode(column: "payload", as: String.self), context: OutboxMailer.sealContext, keys: keys)
                else { continue }
                mails += 1
                if !dryRun { try await sql.update("outbox").set("payload", to: SQLBind(sealed)).where("id", .equal, SQLBind(id)).run() }
            }
            if !dryRun {
                try await AuditLog.record(action: "secrets.rotated", targetKind: "system", targetID: "data_encryption_key", changes: [
                    "key_id": FieldChange(before: nil, after: .string(keys.current.id)),
                    "totp_seeds": FieldChange(before: nil, after: .number(Double(totp))),
                    "webhook_secrets": FieldChange(before: nil, after: .number(Double(webhooks))),
                    "mails": FieldChange(before: nil, after: .number(Double(mails))),
                ], context: change, in: sql)
            }
            return (totp, webhooks, mails)
        }
        return Result(dryRun: dryRun, keyID: keys.current.id, totpSeeds: counts.0, webhookSecrets: counts.1, mails: counts.2)
    }

    /// The value sealed under the current key, or nil when it already is.
    static func reseal(_ stored: String, context: String, keys: DataKeyRing) throws -> String? {
        guard !keys.isCurrent(stored) else { return nil }
        do {
            return try keys.seal(try keys.open(stored, context: context), context: context)
        } catch let error as DataKeyError {
            throw AppError(.conflict, field: "DATA_ENCRYPTION_KEY_PREVIOUS",
                           problem: "does not open a stored secret (\(error)): set it to the key that sealed them before rotating")
        }
    }
}
