import Foundation
import Logging

/// A swift-log handler that writes one JSON object per line: UTC timestamp, level, message,
/// label and fields, every string passed through the `Redactor` first.
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?

    private let label: String
    private let sink: any LogSink
    private let redactor: Redactor

    public init(label: String, level: Logger.Level, sink: any LogSink, redactor: Redactor) {
        self.label = label
        self.logLevel = level
        self.sink = sink
        self.redactor = redactor
    }

    /// A logger writing through this handler.
    public static func logger(label: String = "zakops", level: Logger.Level, sink: any LogSink, redactor: Redactor) -> Logger {
        Logger(label: label) { label in JSONLogHandler(label: label, level: level, sink: sink, redactor: redactor) }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        // Merge only when there is something to merge: this runs for every request.
        var fields = metadata
        if let provided = metadataProvider?.get(), !provided.isEmpty { fields.merge(provided) { _, new in new } }
        if let extra = event.metadata, !extra.isEmpty {
            if fields.isEmpty { fields = extra } else { fields.merge(extra) { _, new in new } }
        }

        var line = "{\"ts\":"
        JSONText.appendString(Timestamp.now(), to: &line)
        line += ",\"level\":"
        JSONText.appendString(event.level.rawValue, to: &line)
        line += ",\"msg\":"
        JSONText.appendString(redactor.scrub(event.message.description), to: &line)
        line += ",\"logger\":"
        JSONText.appendString(label, to: &line)
        if let error = event.error {
            line += ",\"error_type\":"
            JSONText.appendString(String(reflecting: type(of: error)), to: &line)
        }
        for key in fields.keys.sorted() {
            line += ","
            // Hummingbird keeps the request id under its own key; ZakOps names it request_id.
            JSONText.appendString(key == "hb.request.id" ? "request_id" : key, to: &line)
            line += ":"
            appendValue(fields[key]!, key: key, to: &line)
        }
        line += "}"
        sink.write(line, urgent: event.level >= .warning)
    }

    /// Writes one metadata value. A sensitive key redacts its whole value, whatever its type,
    /// nested values included.
    private func appendValue(_ value: Logger.Metadata.Value, key: String, to line: inout String, sensitive: Bool = false) {
        let sensitive = sensitive || Redactor.isSensitiveKey(key)
        switch value {
        case .string(let text):
            JSONText.appendString(sensitive ? Redactor.redacted : redactor.scrub(text), to: &line)
        case .stringConvertible(let convertible):
            if sensitive {
                JSONText.appendString(Redactor.redacted, to: &line)
            } else if let number = convertible as? Int {
                line += String(number)
            } else if let number = convertible as? any BinaryInteger {
                line += "\(number)"
            } else if let number = convertible as? Double, number.isFinite {
                line += "\(number)"
            } else {
                JSONText.appendString(redactor.scrub(convertible.description), to: &line)
            }
        case .array(let values):
            line += "["
            for (index, item) in values.enumerated() {
                if index > 0 { line += "," }
                appendValue(item, key: key, to: &line, sensitive: sensitive)
            }
            line += "]"
        case .dictionary(let dictionary):
            line += "{"
            for (index, nestedKey) in dictionary.keys.sorted().enumerated() {
                if index > 0 { line += "," }
                JSONText.appendString(nestedKey, to: &line)
                line += ":"
                appendValue(dictionary[nestedKey]!, key: nestedKey, to: &line, sensitive: sensitive)
            }
            line += "}"
        }
    }
}
