import Foundation
import ZakOpsCore
import ZakOpsHTTP

/// The body of a credential rotation (an API key, a webhook secret): the overlap in hours
/// (0 to 24, default 24) during which the old credential keeps working.
struct RotationRequest: StrictDecodable {
    let graceHours: Int?
    enum CodingKeys: String, CodingKey { case graceHours = "grace_hours" }
    static let knownFields = KnownFields(["grace_hours"])

    static func grace(_ hours: Int?) throws -> TimeInterval {
        let hours = hours ?? 24
        guard (0...24).contains(hours) else { throw AppError.validation(field: "grace_hours", problem: "must be a whole number from 0 to 24") }
        return TimeInterval(hours * 3600)
    }
}
