import Foundation
import Hummingbird
import Logging
import NIOCore
import ZakOpsCore

/// The scheme a request arrived with.
public enum RequestScheme: String, Sendable {
    case http, https
}
