import Foundation
import ZakOpsCore

/// A deal's JSON, written directly rather than through `JSONEncoder`: a page of 50 deals spent
/// most of its time encoding, and parsing each stored `company_info` only to encode it again.
/// The stored text is copied as it is (the server wrote it, canonical, when the deal changed).
///
/// The shape is the OpenAPI document's `Deal`: keys in sorted order, like every other response;
/// `broker` absent when there is none, an unset figure absent from `metrics`. Strings are
/// escaped by the same code as log lines (`JSONText.appendString`).
enum DealJSON {
    /// The JSON object of one deal.
    static func render(_ deal: Deal) -> String {
        var out = ""
        out.reserveCapacity(512 + deal.companyInfo.text.utf8.count)
        append(deal, to: &out)
        return out
    }

    /// `{"deals":[…],"next_cursor":"…"}`, the cursor absent on the last page.
    static func renderPage(_ deals: [Deal], nextCursor: String?) -> String {
        var out = "{\"deals\":["
        out.reserveCapacity(deals.reduce(64) { $0 + 512 + $1.companyInfo.text.utf8.count })
        for (index, deal) in deals.enumerated() {
            if index > 0 { out.append(",") }
            append(deal, to: &out)
        }
        out.append("]")
        if let nextCursor {
            out.append(",\"next_cursor\":")
            JSONText.appendString(nextCursor, to: &out)
        }
        out.append("}")
        return out
    }

    private static func append(_ deal: Deal, to out: inout String) {
        out.append("{")
        if let broker = deal.broker {
            out.append("\"broker\":{")
            var first = true
            if let email = broker.email {
                out.append("\"email\":")
                JSONText.appendString(email, to: &out)
                first = false
            }
            if let name = broker.name {
                out.append(first ? "\"name\":" : ",\"name\":")
                JSONText.appendString(name, to: &out)
            }
            out.append("},")
        }
        out.append("\"canonical_name\":")
        JSONText.appendString(deal.canonicalName, to: &out)
        out.append(",\"company_info\":")
        out.append(deal.companyInfo.text)
        out.append(",\"created_at\":")
        JSONText.appendString(deal.createdAt, to: &out)
        out.append(",\"display_name\":")
        JSONText.appendString(deal.displayName, to: &out)
        out.append(",\"id\":")
        JSONText.appendString(deal.id, to: &out)
        out.append(",\"metrics\":{")
        // The stored text is a Decimal's description: plain digits with an optional sign and
        // point, a valid JSON number (what JSONEncoder writes for a Decimal too).
        var first = true
        func figure(_ key: String, _ value: String?) {
            guard let value else { return }
            out.append(first ? "\"" : ",\"")
            out.append(key)
            out.append("\":")
            out.append(value)
            first = false
        }
        figure("asking_price", deal.metrics.askingPrice)
        figure("ebitda", deal.metrics.ebitda)
        figure("revenue", deal.metrics.revenue)
        out.append("},\"stage\":")
        JSONText.appendString(deal.stage.rawValue, to: &out)
        out.append(",\"status\":")
        JSONText.appendString(deal.status.rawValue, to: &out)
        out.append(",\"updated_at\":")
        JSONText.appendString(deal.updatedAt, to: &out)
        out.append(",\"version\":")
        out.append(String(deal.version))
        out.append("}")
    }
}
