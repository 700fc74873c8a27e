/// One page of a list read in key order (keyset paging), the one copy of the rule every list
/// follows: ask for `fetchLimit(limit)` rows, one more than the page holds; if that extra row
/// came back, a next page exists and starts after the key of the page's last item. The
/// cursor's text form belongs to the caller (`ListQuery` for sequence numbers).
public struct KeysetPage<Item: Sendable, Key: Sendable>: Sendable {
    public var items: [Item]
    /// The key of the page's last item when more follow; nil on the last page.
    public var next: Key?

    /// How many rows to ask for a page of `limit` items.
    public static func fetchLimit(_ limit: Int) -> Int { limit + 1 }

    /// The page from rows fetched with `fetchLimit(limit)`, in order.
    public init<Row>(rows: [Row], limit: Int, key: (Row) throws -> Key, item: (Row) throws -> Item) rethrows {
        let kept = rows.prefix(limit)
        items = try kept.map(item)
        next = rows.count > limit ? try kept.last.map(key) : nil
    }

    public init(items: [Item], next: Key?) {
        self.items = items
        self.next = next
    }

    /// The same page with each item transformed.
    public func map<T: Sendable>(_ transform: (Item) throws -> T) rethrows -> KeysetPage<T, Key> {
        KeysetPage<T, Key>(items: try items.map(transform), next: next)
    }
}
