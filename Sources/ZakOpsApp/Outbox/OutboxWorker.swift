import Foundation
import Logging
import ServiceLifecycle
import SQLKit
import ZakOpsCore
import ZakOpsStore

/// `zakops outbox work`: an outbox processor alone, without the HTTP server, until SIGTERM or
/// SIGINT — as many as needed, on any hosts, against one PostgreSQL database.
public enum OutboxWorker {
    public static func run(settings: Settings, logger: Logger) async throws {
        let database = try await Database.open(settings: settings, logger: logger)
        let components = try AppComponents(settings: settings, database: database, logger: logger)
        var services: [any Service] = database.service.map { [$0] } ?? []
        services.append(components.outboxProcessor)
        logger.notice("outbox processor started", metadata: ["database": .string(settings.database.dialectName)])
        do {
            try await ZakOpsServer.serviceGroup(for: services, settings: settings, logger: logger).run()
        } catch {
            await database.close()
            throw error
        }
        await database.close()
    }
}
