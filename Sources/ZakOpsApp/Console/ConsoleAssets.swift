import Crypto
import Foundation
import NIOCore
import ZakOpsCore

/// The operator console's files, bundled with the binary (`Console/Resources/console/`, one
/// flat folder) and read once at start. Every asset is served under one fingerprint, the
/// SHA-256 of them all (`/console/assets/<fingerprint>/app.js`): a release changes the
/// address, so browsers may keep an asset for a year, and the modules' relative imports stay
/// inside the same fingerprint. `index.html` names the fingerprint (`{{assets}}`) and is never
/// cached.
struct ConsoleAssets: Sendable {
    struct Asset: Sendable {
        let bytes: ByteBuffer
        let contentType: String
    }

    let fingerprint: String
    let index: ByteBuffer
    let assets: [String: Asset]

    static let types = ["js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8", "svg": "image/svg+xml",
                        "png": "image/png", "ico": "image/x-icon", "json": "application/json"]

    init() throws {
        guard let folder = Bundle.module.url(forResource: "console", withExtension: nil) else {
            throw AppError(.internalError, logDetail: "the bundled console is missing")
        }
        try self.init(folder: folder)
    }

    init(folder: URL) throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { !$0.hasPrefix(".") }.sorted()
        var hash = SHA256()
        var files: [String: Data] = [:]
        for name in names {
            let data = try Data(contentsOf: folder.appendingPathComponent(name))
            files[name] = data
            hash.update(data: Data(name.utf8))
            hash.update(data: data)
        }
        fingerprint = String(hash.finalize().map { String(format: "%02x", $0) }.joined().prefix(16))
        guard let page = files["index.html"].map({ String(decoding: $0, as: UTF8.self) }) else {
            throw AppError(.internalError, logDetail: "the console has no index.html")
        }
        index = ByteBuffer(string: page.replacingOccurrences(of: "{{assets}}", with: "/console/assets/\(fingerprint)"))
        var assets: [String: Asset] = [:]
        for (name, data) in files where name != "index.html" {
            guard let type = name.split(separator: ".").last.flatMap({ Self.types[String($0)] }) else { continue }
            assets[name] = Asset(bytes: ByteBuffer(bytes: Array(data)), contentType: type)
        }
        self.assets = assets
    }
}
