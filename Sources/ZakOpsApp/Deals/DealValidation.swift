import Foundation
import Hummingbird
import ZakOpsCore
import ZakOpsHTTP

/// Field rules shared by create and update.
enum DealValidation {
    static let maximumCompanyInfoBytes = 16_384
    static let maximumCompanyInfoDepth = 5
    /// Money figures: at most a quadrillion in either direction.
    static let moneyLimit = Decimal(string: "1000000000000000")!

    static func broker(_ broker: Broker?) throws -> Broker? {
        guard let broker else { return nil }
        guard broker.name != nil || broker.email != nil else {
            throw AppError.validation(field: "broker", problem: "needs a name or an e-mail address (null removes the broker)")
        }
        let name = try broker.name.map { try Validate.name($0, field: "broker.name") }
        if let email = broker.email { try Validate.email(email, field: "broker.email") }
        return Broker(name: name, email: broker.email)
    }

    static func companyInfo(_ value: JSONValue?) throws -> JSONValue {
        guard let value else { return .object([:]) }
        guard case .object = value else { throw AppError.validation(field: "company_info", problem: "must be an object") }
        guard value.depth <= maximumCompanyInfoDepth else {
            throw AppError.validation(field: "company_info", problem: "must be nested at most \(maximumCompanyInfoDepth) levels deep")
        }
        guard (try JSONEncoder().encode(value)).count <= maximumCompanyInfoBytes else {
            throw AppError.validation(field: "company_info", problem: "must be at most \(maximumCompanyInfoBytes) bytes of JSON")
        }
        guard !value.hasControlCharacters else {
            throw AppError.validation(field: "company_info", problem: "must not contain control characters")
        }
        return value
    }

    static func metrics(_ metrics: DealMetrics?) throws -> DealMetrics {
        guard let metrics else { return .empty }
        for (field, value) in [("metrics.asking_price", metrics.askingPrice), ("metrics.ebitda", metrics.ebitda), ("metrics.revenue", metrics.revenue)] {
            if let value, value.isNaN || abs(value) >= moneyLimit {
                throw AppError.validation(field: field, problem: "must be a number below 10^15 in size")
            }
        }
        return metrics
    }
}
