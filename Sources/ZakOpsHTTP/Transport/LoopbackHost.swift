import HTTPTypes
import Hummingbird
import Logging
import ZakOpsCore

/// Whether a request's authority (`host[:port]`) names this machine by a loopback name.
public enum LoopbackHost {
    public static func matches(_ authority: String) -> Bool {
        var host = Substring(authority)
        if host.hasPrefix("[") {
            host = host.dropFirst().prefix { $0 != "]" }
        } else if host.filter({ $0 == ":" }).count == 1, let colon = host.lastIndex(of: ":") {
            host = host[..<colon]
        }
        return IPAddress.isLoopbackHost(String(host))
    }
}
