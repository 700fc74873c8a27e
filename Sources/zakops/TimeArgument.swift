import ArgumentParser
import Foundation
import ZakOpsCore

/// A time given on the command line: a UTC time such as 2026-01-31T12:00:00.000Z, or a number
/// of days or hours ago such as `7d` or `12h`.
enum TimeArgument {
    static func parse(_ text: String, option: String, now: Date = Date()) throws -> Date {
        if let amount = Int(text.dropLast()), (0...3650 * 24).contains(amount) {
            if text.hasSuffix("d") { return now.addingTimeInterval(-Double(amount) * 86_400) }
            if text.hasSuffix("h") { return now.addingTimeInterval(-Double(amount) * 3600) }
        }
        if let date = Timestamp.date(from: text) { return date }
        throw ValidationError("\(option) must be a UTC time such as 2026-01-31T12:00:00.000Z, or an age such as 7d or 12h")
    }
}

/// The flags every playbook step takes.
struct PlaybookFlags: ParsableArguments {
    @Flag(help: "Show what would change, and change nothing.") var dryRun = false
    @Flag(help: "Print the result as JSON.") var json = false
}
