import Foundation
import HTTPTypes
import SQLKit
import ZakOpsCore
import ZakOpsHTTP

/// Who changed something, from where: the audit entry's actor and provenance.
struct ChangeContext: Sendable {
    let actorID: String
    /// `user`, `service` or `system`.
    let actorKind: String
    let requestID: String?
    let clientIP: String?
    let time: Date
    /// The request's `Idempotency-Key` claim: a creating change records its response with it,
    /// in its own transaction.
    let idempotency: IdempotencyClaim?

    init(principal: Principal, request context: AppRequestContext, time: Date) {
        actorID = principal.id
        actorKind = principal.kind.rawValue
        requestID = context.requestID
        clientIP = context.clientIP
        idempotency = context.idempotencyClaim
        self.time = time
    }

    /// A step of signing in, before there is a principal: `actorID` is the account's id when
    /// it is known, else `anonymous`.
    init(signInBy actorID: String?, requestID: String?, clientIP: String?, time: Date) {
        self.actorID = actorID ?? "anonymous"
        actorKind = actorID == nil ? "anonymous" : "user"
        self.requestID = requestID
        self.clientIP = clientIP
        idempotency = nil
        self.time = time
    }

    /// A change made by an operator at the host, through a `zakops` command (no request).
    init(commandLineAt time: Date) {
        actorID = "cli"
        actorKind = "system"
        requestID = nil
        clientIP = nil
        idempotency = nil
        self.time = time
    }

    /// A change the server makes by itself (expiry jobs).
    init(systemAt time: Date) {
        actorID = "system"
        actorKind = "system"
        requestID = nil
        clientIP = nil
        idempotency = nil
        self.time = time
    }

    /// Records a creating request's answer under its `Idempotency-Key`, in the change's
    /// transaction (nothing without a key): a replay then returns it, and a change that rolls
    /// back leaves the key unanswered for the middleware to release.
    func record(_ reply: Reply, in sql: any SQLDatabase) async throws {
        guard let idempotency else { return }
        try await IdempotencyStore.record(idempotency, status: Int(reply.status.code), body: reply.json, location: reply.location, in: sql)
    }
}
