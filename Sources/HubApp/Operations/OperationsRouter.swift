import Foundation
public import Hummingbird
public import Prometheus

/// The operations endpoints every `huitong` process serves.
///
/// - `GET /healthz`: the process is alive (always 200 while it can answer).
/// - `GET /readyz`: 200 when every component (broker, database, roles) is ready, else 503 with the reasons.
/// - `GET /metrics`: Prometheus text exposition of the process's metrics.
public enum OperationsRoutes {
    /// Adds the operations routes to a router.
    /// - Parameters:
    ///   - router: The router.
    ///   - readiness: The process's readiness registry.
    ///   - registry: The Prometheus registry the metrics factory writes to.
    public static func add<Context: RequestContext>(
        to router: Router<Context>,
        readiness: Readiness,
        registry: PrometheusCollectorRegistry
    ) {
        router.get("healthz") { _, _ -> Response in
            json(status: .ok, ["status": "ok"])
        }
        router.get("readyz") { _, _ -> Response in
            var components: [String: String] = [:]
            for (component, state) in readiness.snapshot {
                switch state {
                case .ready: components[component] = "ready"
                case .notReady(let reason): components[component] = reason
                }
            }
            let ready = readiness.isReady
            return json(status: ready ? .ok : .serviceUnavailable, ["status": ready ? "ready" : "not ready"], components)
        }
        router.get("metrics") { _, _ -> Response in
            var buffer = [UInt8]()
            buffer.reserveCapacity(16 * 1024)
            registry.emit(into: &buffer)
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: buffer))
            )
        }
    }

    private static func json(status: HTTPResponse.Status, _ top: [String: String], _ components: [String: String]? = nil)
        -> Response
    {
        var object: [String: Any] = top
        if let components { object["components"] = components }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return Response(
            status: status,
            headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: data))
        )
    }
}
