/// Where a request falls in a policy's rolling window.
///
/// A window of `W` seconds is cut into `slices` buckets of `W / slices` seconds (10 s for a
/// minute). A request at time t is allowed only while the requests counted in the bucket of t
/// and the `slices` buckets before it number fewer than the limit. Those buckets cover every
/// instant of (t − W, t], so no span of W seconds ever holds more than the limit, wherever it
/// starts: the guarantee the checklist's "10 per minute" asks for. The price is conservative:
/// a request counted in the oldest bucket may hold its place up to one bucket (10 s) past W.
public struct RateWindow: Sendable, Equatable {
    /// Buckets per window.
    public static let slices: Int64 = 6

    /// Start of the current bucket, in Unix seconds.
    public let bucket: Int64
    /// Length of one bucket, in seconds.
    public let bucketSeconds: Int64

    public init(bucket: Int64, bucketSeconds: Int64) {
        self.bucket = bucket
        self.bucketSeconds = bucketSeconds
    }

    /// The bucket of time `now` (Unix seconds) for a window of `windowSeconds`.
    public init(now: Double, windowSeconds: Int) {
        // Rounded up, so the buckets always cover the whole window.
        let length = max(1, (Int64(windowSeconds) + Self.slices - 1) / Self.slices)
        bucketSeconds = length
        bucket = Int64(now.rounded(.down)) / length * length
    }

    /// The oldest bucket that still counts (`slices` buckets back).
    public var oldestBucket: Int64 { bucket - Self.slices * bucketSeconds }

    /// How many buckets `other` lies before this one (0: the same; negative: after it).
    func buckets(since other: Int64) -> Int64 { (bucket - other) / bucketSeconds }
}

/// The counts of one key in the buckets of its rolling window, newest last.
struct RollingCounts: Sendable {
    /// Counts of the buckets `latest - slices … latest`, oldest first.
    private(set) var counts = [Int](repeating: 0, count: Int(RateWindow.slices) + 1)
    private(set) var latest: Int64?

    /// The total over the window that ends in `window`'s bucket.
    func total(in window: RateWindow) -> Int {
        guard let latest else { return 0 }
        let shift = window.buckets(since: latest)
        if shift <= 0 { return counts.reduce(0, +) }
        if shift > RateWindow.slices { return 0 }
        return counts.dropFirst(Int(shift)).reduce(0, +)
    }

    /// Moves the buckets to `window` (older buckets fall out) and counts one request in it.
    /// A late request for an earlier bucket counts in the newest one.
    mutating func count(in window: RateWindow) {
        if let latest {
            let shift = window.buckets(since: latest)
            if shift > 0 {
                if shift > RateWindow.slices {
                    counts = [Int](repeating: 0, count: counts.count)
                } else {
                    counts.removeFirst(Int(shift))
                    counts.append(contentsOf: repeatElement(0, count: Int(shift)))
                }
                self.latest = window.bucket
            }
        } else {
            latest = window.bucket
        }
        counts[counts.count - 1] += 1
    }
}
