import Foundation
import Hummingbird
import ZakOpsCore
import ZakOpsHTTP

/// A deal's broker: a person, so personal data (redacted in audit entries).
struct Broker: Codable, Sendable, Equatable {
    let name: String?
    let email: String?
}

/// Money figures: exact decimal numbers or null. A string such as "$1,000,000" is a
/// validation error, never guessed at.
struct DealMetrics: Codable, Sendable, Equatable {
    let askingPrice: Decimal?
    let ebitda: Decimal?
    let revenue: Decimal?

    enum CodingKeys: String, CodingKey {
        case askingPrice = "asking_price"
        case ebitda, revenue
    }

    static let empty = DealMetrics(askingPrice: nil, ebitda: nil, revenue: nil)
}

/// A deal's money figures as kept: each the canonical text of its decimal (what
/// `Decimal.description` writes, a plain JSON number), stored, compared and rendered as it is.
/// Parsing them on every read and formatting them again was a fifth of a page's time.
struct StoredMetrics: Sendable, Equatable {
    let askingPrice: String?
    let ebitda: String?
    let revenue: String?

    init(_ metrics: DealMetrics) {
        askingPrice = metrics.askingPrice?.description
        ebitda = metrics.ebitda?.description
        revenue = metrics.revenue?.description
    }

    /// Texts read back from the database, written there from `init(_:)`.
    init(storedAskingPrice: String?, ebitda: String?, revenue: String?) {
        askingPrice = storedAskingPrice
        self.ebitda = ebitda
        self.revenue = revenue
    }

    static let empty = StoredMetrics(.empty)
}

/// `POST /api/deals`.
struct CreateDealRequest: StrictDecodable {
    let canonicalName: String
    let displayName: String?
    let stage: DealStage?
    let status: DealStatus?
    let broker: Broker?
    let companyInfo: JSONValue?
    let metrics: DealMetrics?

    enum CodingKeys: String, CodingKey {
        case canonicalName = "canonical_name"
        case displayName = "display_name"
        case stage, status, broker, metrics
        case companyInfo = "company_info"
    }

    static let knownFields = KnownFields(
        ["canonical_name", "display_name", "stage", "status", "broker", "company_info", "metrics"],
        nested: ["broker": KnownFields(["name", "email"]), "metrics": KnownFields(["asking_price", "ebitda", "revenue"]), "company_info": .freeForm]
    )
}

/// `PATCH /api/deals/{id}`: the fields present change; `broker: null` removes the broker. The
/// stage changes only through a transition.
struct UpdateDealRequest: StrictDecodable {
    let canonicalName: String?
    let displayName: String?
    let status: DealStatus?
    /// Outer nil: absent (unchanged); inner nil: `null` (removed).
    let broker: Broker??
    let companyInfo: JSONValue?
    let metrics: MetricsPatch?

    /// Money figures to change: a figure left out keeps its value, `null` clears it.
    struct MetricsPatch: Decodable, Sendable {
        let askingPrice: Decimal??
        let ebitda: Decimal??
        let revenue: Decimal??

        enum CodingKeys: String, CodingKey {
            case askingPrice = "asking_price"
            case ebitda, revenue
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            func field(_ key: CodingKeys) throws -> Decimal?? {
                container.contains(key) ? .some(try container.decodeIfPresent(Decimal.self, forKey: key)) : .none
            }
            askingPrice = try field(.askingPrice)
            ebitda = try field(.ebitda)
            revenue = try field(.revenue)
        }

        /// The figures after this patch: a figure left out keeps its text, `null` clears it.
        func applied(to metrics: StoredMetrics) -> StoredMetrics {
            func figure(_ patch: Decimal??, _ current: String?) -> String? {
                switch patch {
                case .none: current
                case .some(let value): value?.description
                }
            }
            return StoredMetrics(storedAskingPrice: figure(askingPrice, metrics.askingPrice), ebitda: figure(ebitda, metrics.ebitda),
                                 revenue: figure(revenue, metrics.revenue))
        }
    }

    enum CodingKeys: String, CodingKey {
        case canonicalName = "canonical_name"
        case displayName = "display_name"
        case status, broker, metrics
        case companyInfo = "company_info"
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        canonicalName = try container.decodeIfPresent(String.self, forKey: .canonicalName)
        displayName = try container.decodeIfPresent(String.self, forKey: .displayName)
        status = try container.decodeIfPresent(DealStatus.self, forKey: .status)
        broker = container.contains(.broker) ? .some(try container.decodeIfPresent(Broker.self, forKey: .broker)) : .none
        companyInfo = try container.decodeIfPresent(JSONValue.self, forKey: .companyInfo)
        metrics = try container.decodeIfPresent(MetricsPatch.self, forKey: .metrics)
    }

    static let knownFields = KnownFields(
        ["canonical_name", "display_name", "status", "broker", "company_info", "metrics"],
        nested: ["broker": KnownFields(["name", "email"]), "metrics": KnownFields(["asking_price", "ebitda", "revenue"]), "company_info": .freeForm]
    )
}

/// `POST /api/deals/{id}/transition`.
struct TransitionRequest: StrictDecodable {
    let toStage: DealStage
    let reason: String?

    enum CodingKeys: String, CodingKey {
        case toStage = "to_stage"
        case reason
    }

    static let knownFields = KnownFields(["to_stage", "reason"])
}

/// A deal as stored and as the API shows it.
struct Deal: Sendable, Equatable {
    let id: String
    var canonicalName: String
    var displayName: String
    var stage: DealStage
    var status: DealStatus
    var broker: Broker?
    var companyInfo: CanonicalJSON
    var metrics: StoredMetrics
    var version: Int
    let createdAt: String
    var updatedAt: String
}
