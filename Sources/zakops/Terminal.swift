import ArgumentParser
import Foundation
import Logging
import ZakOpsApp
import ZakOpsCore

/// Messages for the operator at the terminal (standard error); the log stays on standard output.
enum Terminal {
    static func error(_ message: String) {
        FileHandle.standardError.write(Data("zakops: \(message)\n".utf8))
    }

    static func print(_ message: String) {
        FileHandle.standardError.write(Data((message + "\n").utf8))
    }
}
