import Testing
import ZakOpsStore

@Suite("Keyset pages")
struct KeysetPageTests {
    @Test("the extra row says a next page exists and is never returned; the last page has no next key")
    func pages() {
        let rows = Array(1...5)
        #expect(KeysetPage<Int, Int>.fetchLimit(4) == 5)
        let full = KeysetPage(rows: rows, limit: 4, key: { $0 * 10 }, item: { "item \($0)" })
        #expect(full.items == ["item 1", "item 2", "item 3", "item 4"])
        #expect(full.next == 40)
        let last = KeysetPage(rows: Array(rows.prefix(4)), limit: 4, key: { $0 * 10 }, item: { $0 })
        #expect(last.items == [1, 2, 3, 4] && last.next == nil)
        let empty = KeysetPage(rows: [Int](), limit: 4, key: { $0 }, item: { $0 })
        #expect(empty.items.isEmpty && empty.next == nil)
        #expect(full.map { $0.uppercased() }.items.first == "ITEM 1" && full.map { $0 }.next == 40)
    }
}
