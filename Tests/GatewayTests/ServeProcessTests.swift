import Foundation
import Gateway
import HubAMQP
import HubCore
import HubCrypto
import HubStore
import Synchronization
import Testing

/// The gateway in the real `huitong serve --roles gateway` process, reached with curl.
@Suite("Gateway in huitong serve")
struct ServeProcessTests {
    @Test("a signed POST to the served gateway is answered 202 after the confirm and is on hub.commands with partnerid")
    func servedHappyPath() async throws {
        let tap = try await TapQueue.start("served", bindings: [("hub.commands", "hub.heartbeat.ping")])
        defer { Task { await tap.stop() } }
        let pool = try await GatewaySupport.pool()
        let store = PartnerStore(pool: pool, keyring: GatewaySupport.keyring)
        let id = GatewaySupport.unique("served")
        let secret = (0..<32).map { _ in UInt8.random(in: 0...255) }
        try await store.add(
            id: try PartnerID(id), name: id, grants: Partner.Grants(messageTypes: ["hub.heartbeat.ping.v1"]),
            credential: .hmacSM3(secret: secret))
        await pool.close()

        let process = Process()
        process.executableURL = GatewaySupport.repositoryRoot.appendingPathComponent(".build/debug/huitong")
        process.arguments = ["serve", "--roles", "gateway", "--http-port", "0"]
        process.environment = [
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
            "HUITONG_AMQP_URL": GatewaySupport.amqpURL,
            "HUITONG_DATABASE_URL": GatewaySupport.databaseURL,
            "HUITONG_GATEWAY_MASTER_KEY": String(repeating: "42", count: 32),
            "HUITONG_GATEWAY_AMQP_INGRESS": "off",
            "HUITONG_GATEWAY_MAX_BODY_BYTES": "4096",
            "HUITONG_LOG_LEVEL": "warning",
        ]
        process.currentDirectoryURL = GatewaySupport.repositoryRoot
        let output = Pipe()
        let printed = Mutex<String>("")
        output.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            printed.withLock { $0 += String(decoding: data, as: UTF8.self) }
        }
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer {
            if process.isRunning { process.terminate() }
            output.fileHandleForReading.readabilityHandler = nil
        }

        var port: Int?
        for _ in 0..<600 where port == nil && process.isRunning {
            try await Task.sleep(for: .milliseconds(50))
            let text = printed.withLock { $0 }
            if let range = text.range(of: "listening on http://127.0.0.1:") {
                port = Int(text[range.upperBound...].prefix { $0.isNumber })
            }
        }
        let served = try #require(port, "serve did not start: \(printed.withLock { $0 })")

        let envelope = try GatewaySupport.ping()
        let body = envelope.encode()
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("gw-body-\(UUID().uuidString).json")
        try Data(body).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let signer = RequestSigner(partner: id, key: .hmacSM3(SymmetricKey(data: secret)))
        var arguments = ["-sS", "-X", "POST", "-w", "\n%{http_code}", "--data-binary", "@\(file.path)",
                         "-H", "Content-Type: application/cloudevents+json"]
        for (name, value) in try signer.headers(method: "POST", target: "/v1/messages", body: body) {
            arguments += ["-H", "\(name): \(value)"]
        }
        arguments.append("http://127.0.0.1:\(served)/v1/messages")
        let response = try await runProcess("/usr/bin/curl", arguments)
        #expect(response.stdout.hasSuffix("\n202"), "\(response.stdout)")
        let delivered = await tap.wait { $0.properties.messageID == envelope.id.description }
        #expect(delivered.first?.envelope?.partnerID?.value == id)

        // A chunked body (no Content-Length) over the limit is cut off while it is read: 413 (GW-LIMIT-1).
        let big = FileManager.default.temporaryDirectory.appendingPathComponent("gw-big-\(UUID().uuidString).json")
        try Data(repeating: 0x20, count: 10_000).write(to: big)
        defer { try? FileManager.default.removeItem(at: big) }
        var chunked = ["-sS", "-X", "POST", "-w", "\n%{http_code}", "--data-binary", "@\(big.path)",
                       "-H", "Transfer-Encoding: chunked", "-H", "Content-Type: application/cloudevents+json"]
        for (name, value) in try signer.headers(method: "POST", target: "/v1/messages", body: [UInt8]()) {
            chunked += ["-H", "\(name): \(value)"]
        }
        chunked.append("http://127.0.0.1:\(served)/v1/messages")
        let tooLarge = try await runProcess("/usr/bin/curl", chunked)
        #expect(tooLarge.stdout.hasSuffix("\n413"), "\(tooLarge.stdout)")
        #expect(tooLarge.stdout.contains("GW-LIMIT-1"))

        // Graceful stop on SIGTERM (the process we started, by its own handle).
        process.terminate()
        let status = try await runProcess("/bin/sh", ["-c", "for i in $(seq 1 100); do kill -0 \(process.processIdentifier) 2>/dev/null || exit 0; sleep 0.1; done; exit 1"])
        #expect(status.status == 0, "serve did not stop on SIGTERM")
    }
}
