import ArgumentParser
import Foundation
import Logging
import ZakOpsApp
import ZakOpsCore
import ZakOpsStore

/// JSON on standard output: sorted keys, one document.
enum CommandOutput {
    static func json(_ value: some Encodable) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        if let data = try? encoder.encode(value) { print(String(decoding: data, as: UTF8.self)) }
    }
}
