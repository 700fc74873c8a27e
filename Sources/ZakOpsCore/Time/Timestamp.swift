import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Timestamps are written (in the database and the log) as ISO 8601 UTC text with
/// milliseconds, `2026-11-29T06:48:39.474Z`, so they sort and compare the same way everywhere.
///
/// Formatted by hand from `clock_gettime` and `gmtime_r`: this runs for every log line, and
/// Foundation's format styles cost more than the rest of a request.
public enum Timestamp {
    /// The current time as stored.
    public static func now() -> String {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return format(seconds: Int(spec.tv_sec), milliseconds: Int(spec.tv_nsec) / 1_000_000)
    }

    /// A date as stored.
    public static func string(from date: Date) -> String {
        // To the nearest millisecond: a time read from text (`date(from:)`) is a binary fraction
        // a hair below its millisecond, and must format back to the same text.
        let total = Int((date.timeIntervalSince1970 * 1000).rounded())
        let (seconds, milliseconds) = total.quotientAndRemainder(dividingBy: 1000)
        return milliseconds < 0 ? format(seconds: seconds - 1, milliseconds: milliseconds + 1000) : format(seconds: seconds, milliseconds: milliseconds)
    }

    /// Parses a stored timestamp; nil for any other text.
    public static func date(from text: String) -> Date? {
        let bytes = Array(text.utf8)
        guard bytes.count == 24, bytes[4] == 0x2D, bytes[7] == 0x2D, bytes[10] == 0x54, bytes[13] == 0x3A,
              bytes[16] == 0x3A, bytes[19] == 0x2E, bytes[23] == 0x5A else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for byte in bytes[range] {
                guard (0x30...0x39).contains(byte) else { return nil }
                value = value * 10 + Int(byte - 0x30)
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10), let hour = number(11..<13),
              let minute = number(14..<16), let second = number(17..<19), let millisecond = number(20..<23) else { return nil }
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month - 1)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour)
        parts.tm_min = Int32(minute)
        parts.tm_sec = Int32(second)
        let seconds = timegm(&parts)
        // timegm normalizes: a month 13, a day 0 or February 30 come back as another date. Such
        // text names no time; nor does a year before 1970 (nothing here happened then).
        guard year >= 1970, parts.tm_year == Int32(year - 1900), parts.tm_mon == Int32(month - 1), parts.tm_mday == Int32(day),
              parts.tm_hour == Int32(hour), parts.tm_min == Int32(minute), parts.tm_sec == Int32(second) else { return nil }
        return Date(timeIntervalSince1970: TimeInterval(seconds) + TimeInterval(millisecond) / 1000)
    }

    private static func format(seconds: Int, milliseconds: Int) -> String {
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(24)
        func digits(_ value: Int, _ count: Int) {
            var divisor = 1
            for _ in 1..<count { divisor *= 10 }
            var rest = value
            while divisor > 0 {
                bytes.append(UInt8(48 + (rest / divisor) % 10))
                rest %= divisor
                divisor /= 10
            }
        }
        digits(Int(parts.tm_year) + 1900, 4); bytes.append(0x2D)
        digits(Int(parts.tm_mon) + 1, 2); bytes.append(0x2D)
        digits(Int(parts.tm_mday), 2); bytes.append(0x54)
        digits(Int(parts.tm_hour), 2); bytes.append(0x3A)
        digits(Int(parts.tm_min), 2); bytes.append(0x3A)
        digits(Int(parts.tm_sec), 2); bytes.append(0x2E)
        digits(milliseconds, 3); bytes.append(0x5A)
        return String(decoding: bytes, as: UTF8.self)
    }
}
