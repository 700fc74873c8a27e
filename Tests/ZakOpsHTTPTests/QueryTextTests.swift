import Testing
import ZakOpsCore
import ZakOpsHTTP

@Suite("Query text")
struct QueryTextTests {
    @Test("each shape takes its characters and refuses the rest, naming the field and never echoing the value")
    func shapes() throws {
        #expect(try QueryText.check("DEAL-ABC", field: "target_id") == "DEAL-ABC")
        #expect(try QueryText.check("webhook:wh_1.*", field: "consumer", max: 120, shape: .filterName) == "webhook:wh_1.*")
        #expect(try QueryText.check("deal.stage_changed", field: "types", shape: .eventType) == "deal.stage_changed")
        let refused: [(String, QueryText.Shape)] = [
            ("", .printable), ("two words", .printable), ("nul\u{0}", .printable), ("é", .printable),
            (String(repeating: "a", count: 101), .printable), ("a;b", .filterName), ("Deal.Created", .eventType),
        ]
        for (value, shape) in refused {
            do {
                _ = try QueryText.check(value, field: "f", shape: shape)
                Issue.record("\(shape) took a value it must refuse")
            } catch let error as AppError {
                #expect(error.code == .validationError && error.field == "f")
                #expect(!(error.problem ?? "").contains(value) || value.isEmpty)
            }
        }
    }
}
