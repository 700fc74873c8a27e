import Foundation
import Testing
import ZakOpsCore
import ZakOpsTestSupport
@testable import ZakOpsApp

/// The hand-written deal JSON against `JSONEncoder`'s for the same fields: equal as JSON, keys
/// sorted, strings that need escaping escaped.
@Suite("Deal JSON")
struct DealJSONTests {
    /// What `JSONEncoder` wrote for a deal before the writer existed (the reference).
    private struct Reference: Encodable {
        struct Metrics: Encodable {
            let asking_price: Decimal?
            let ebitda: Decimal?
            let revenue: Decimal?
        }
        let id: String
        let canonical_name: String
        let display_name: String
        let stage: String
        let status: String
        let broker: Broker?
        let company_info: JSONValue
        let metrics: Metrics
        let version: Int
        let created_at: String
        let updated_at: String

        init(_ deal: Deal) {
            id = deal.id
            canonical_name = deal.canonicalName
            display_name = deal.displayName
            stage = deal.stage.rawValue
            status = deal.status.rawValue
            broker = deal.broker
            company_info = deal.companyInfo.value
            func figure(_ text: String?) -> Decimal? { text.flatMap { Decimal(string: $0, locale: Locale(identifier: "en_US_POSIX")) } }
            metrics = Metrics(asking_price: figure(deal.metrics.askingPrice), ebitda: figure(deal.metrics.ebitda), revenue: figure(deal.metrics.revenue))
            version = deal.version
            created_at = deal.createdAt
            updated_at = deal.updatedAt
        }
    }

    private static func deal(name: String, broker: Broker?, info: JSONValue, metrics: DealMetrics) -> Deal {
        Deal(id: "DEAL-ABCDEFGHIJKLMNOP", canonicalName: name, displayName: name + " (display)", stage: .dueDiligence, status: .active,
             broker: broker, companyInfo: CanonicalJSON(info), metrics: StoredMetrics(metrics), version: 7,
             createdAt: "2026-11-29T10:00:00.000Z", updatedAt: "2026-11-29T11:00:00.000Z")
    }

    static let names = [
        "Plain Deal", "Quote \" and backslash \\ and slash /", "Tab\tnew\nline\rcarriage", "\u{0}\u{1}\u{1F}\u{7F}",
        "Ünïcödé 日本語 🚀", "Separators \u{2028}\u{2029}", "<script>alert(1)</script>",
    ]

    @Test("each deal renders as the same JSON JSONEncoder writes", arguments: names)
    func matchesEncoder(name: String) throws {
        let metrics = DealMetrics(askingPrice: Decimal(string: "1000000.50"), ebitda: Decimal(string: "-250000"), revenue: nil)
        let info: JSONValue = .object(["sector": .string(name), "nested": .object(["n": .number(3), "list": .array([.bool(true), .null])])])
        for broker in [nil, Broker(name: name, email: nil), Broker(name: nil, email: "b@example.com"), Broker(name: name, email: "b@example.com")] {
            let deal = Self.deal(name: name, broker: broker, info: info, metrics: metrics)
            let written = DealJSON.render(deal)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            let reference = try encoder.encode(Reference(deal))
            let parsed = try #require(try JSONSerialization.jsonObject(with: Data(written.utf8)) as? NSDictionary)
            let expected = try #require(try JSONSerialization.jsonObject(with: reference) as? NSDictionary)
            #expect(parsed == expected, "\(written)")
            // Keys in sorted order, as every response has them.
            let keys = ["\"broker\"", "\"canonical_name\"", "\"company_info\"", "\"created_at\"", "\"display_name\"", "\"id\"", "\"metrics\"", "\"stage\"", "\"status\"", "\"updated_at\"", "\"version\""]
                .filter { broker != nil || $0 != "\"broker\"" }
            let positions = keys.compactMap { written.range(of: $0)?.lowerBound }
            #expect(positions.count == keys.count && positions == positions.sorted())
            #expect(!written.unicodeScalars.contains { $0.value < 0x20 }, "control characters are escaped")
        }
    }

    @Test("a page holds the deals in order and the cursor only when there is one")
    func page() throws {
        let deals = (1...3).map { Self.deal(name: "Deal \($0)", broker: nil, info: .object([:]), metrics: .empty) }
        let last = try #require(try JSONSerialization.jsonObject(with: Data(DealJSON.renderPage(deals, nextCursor: nil).utf8)) as? [String: Any])
        #expect(last["next_cursor"] == nil)
        #expect((last["deals"] as? [[String: Any]])?.map { $0["canonical_name"] as? String } == ["Deal 1", "Deal 2", "Deal 3"])
        #expect(((last["deals"] as? [[String: Any]])?.first?["metrics"] as? [String: Any])?.isEmpty == true)
        let more = try #require(try JSONSerialization.jsonObject(with: Data(DealJSON.renderPage([], nextCursor: "abc\"").utf8)) as? [String: Any])
        #expect(more["next_cursor"] as? String == "abc\"")
        #expect((more["deals"] as? [Any])?.isEmpty == true)
    }
}
