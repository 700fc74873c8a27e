import Foundation
import ZakOpsCore
import ZakOpsTestSupport

extension TestServer {
    /// The captured log, one decoded JSON object per line.
    var logObjects: [[String: Any]] {
        log.captured.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    /// The security events of one kind in the log.
    func securityEvents(_ event: String) -> [[String: Any]] {
        logObjects.filter { $0["msg"] as? String == "security event" && $0["event"] as? String == event }
    }
}
