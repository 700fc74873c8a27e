import Foundation

/// Timestamps are written (in the database and the log) as ISO 8601 UTC text with milliseconds in both dialects, so they sort
/// and compare the same way everywhere.
public enum Timestamp {
    /// The current time as stored.
    public static func now() -> String {
        string(from: Date.now)
    }

    /// A date as stored.
    public static func string(from date: Date) -> String {
        date.formatted(.iso8601.year().month().day().dateSeparator(.dash).time(includingFractionalSeconds: true).timeSeparator(.colon).timeZone(separator: .omitted))
    }
}
