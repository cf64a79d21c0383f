import FoundationEssentials
import HTTPTypes
import Hummingbird
import SchemagateCore

/// The read-only endpoints: `/status`, `/healthz` (and `/readyz`), `/wait?timeout=S`, `/metrics`; any other
/// path is 404 and any method but GET is 405. How each answers is `StatusAnswer`'s decision.
enum StatusRoutes {
    static func router(board: StatusBoard, metrics: DaemonMetrics) -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: GetOnly())
        router.get("/status") { _, _ in
            json(board.status, code: 200, retryAfter: nil)
        }
        // `/readyz` is the same answer under the name Kubernetes probes usually use.
        for path in ["/healthz", "/readyz"] {
            router.get(RouterPath(path)) { _, _ in
                let status = board.status
                let answer = StatusAnswer.health(status)
                return text("\(status.message)\n", code: answer.code, retryAfter: answer.retryAfter)
            }
        }
        router.get("/wait") { request, _ in
            let timeout: Duration
            do {
                timeout = try StatusAnswer.waitTimeout(request.uri.queryParameters.get("timeout"))
            } catch {
                return text("\(error)\n", code: 400, retryAfter: nil)
            }
            let status = await board.waitUntilSettled(timeout: timeout)
            let answer = StatusAnswer.wait(status)
            return json(status, code: answer.code, retryAfter: answer.retryAfter)
        }
        router.get("/metrics") { _, _ in
            metrics.observe(board.status)
            metrics.observeParkedWaits(board.parkedWaits)
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: metrics.exposition()))
            )
        }
        return router
    }

    private static let retryAfterField = HTTPField.Name("Retry-After")!

    private static func json(_ status: DaemonStatus, code: Int, retryAfter: Int?) -> Response {
        let body = (try? DaemonStatus.encoder().encode(status)) ?? Data("{}".utf8)
        var headers: HTTPFields = [.contentType: "application/json"]
        if let retryAfter { headers[retryAfterField] = String(retryAfter) }
        return Response(status: .init(code: code), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body + Data("\n".utf8))))
    }

    private static func text(_ body: String, code: Int, retryAfter: Int?) -> Response {
        var headers: HTTPFields = [.contentType: "text/plain; charset=utf-8"]
        if let retryAfter { headers[retryAfterField] = String(retryAfter) }
        return Response(status: .init(code: code), headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    /// The socket is read-only: anything but GET is 405 with `Allow: GET`.
    struct GetOnly<Context: RequestContext>: RouterMiddleware {
        func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
            guard request.method == .get else {
                return Response(status: .methodNotAllowed, headers: [HTTPField.Name("Allow")!: "GET"])
            }
            return try await next(request, context)
        }
    }
}
