import ArgumentParser

/// `zakops`: the server and every operational task, one binary.
@main
struct ZakOpsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "zakops",
        abstract: "The ZakOps deal-operations API server and its operational commands.",
        discussion: "Settings come from flags, the environment, NAME_FILE for secrets, and .env (see README).",
        subcommands: [ServeCommand.self, MigrateCommand.self, PreflightCommand.self, UserCommand.self, OutboxCommand.self, DLQCommand.self, SSECommand.self,
                      IncidentCommand.self, SessionsCommand.self, KeysCommand.self, AuditCommand.self, SecretsCommand.self,
                      AccessReviewCommand.self, RetentionCommand.self, BackupCommand.self, AlertsCommand.self, ScanCommand.self]
    )
}
