import Foundation
import SQLKit
import ZakOpsCore

/// One message to one person.
public struct Mail: Sendable, Equatable {
    public let to: String
    public let subject: String
    public let body: String

    public init(to: String, subject: String, body: String) {
        self.to = to
        self.subject = subject
        self.body = body
    }
}
