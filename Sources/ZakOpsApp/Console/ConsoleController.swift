import Hummingbird
import NIOCore
import ZakOpsCore
import ZakOpsHTTP

/// The operator console at `/console/`: static files from the binary, same origin as the API,
/// under the same Content-Security-Policy (`default-src 'self'`: the console has no inline
/// script or style). `/` sends a browser there. Public like the health probes: the files hold
/// no data; every datum comes from the API with the session cookie.
struct ConsoleController: Sendable {
    let assets: ConsoleAssets

    func register(on router: Router<AppRequestContext>) {
        router.get("/") { _, _ in Response(status: .found, headers: [.location: "/console/"]) }
        // The mailed password links (`PUBLIC_BASE_URL/reset-password#token=…`): a browser keeps
        // the fragment across a redirect whose Location has none, and the console reads it.
        // The token never reaches the server in the URL.
        router.get("/reset-password") { _, _ in Response(status: .found, headers: [.location: "/console/"]) }
        // The router matches /console and /console/ alike: the page's address is the latter.
        router.get("/console/") { request, _ in
            guard request.uri.path.hasSuffix("/") else { return Response(status: .permanentRedirect, headers: [.location: "/console/"]) }
            return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: assets.index))
        }
        router.get("/console/assets/:fingerprint/:file") { _, context -> Response in
            guard context.parameters.get("fingerprint") == assets.fingerprint, let name = context.parameters.get("file"),
                  let asset = assets.assets[name] else {
                throw AppError(.notFound)
            }
            // Fingerprinted: the one response the security headers let a browser keep.
            return Response(status: .ok, headers: [.contentType: asset.contentType, SecurityHeaders.immutableMarker: "1"],
                            body: .init(byteBuffer: asset.bytes))
        }
    }
}
