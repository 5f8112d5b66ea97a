import Foundation
@testable import HubApp
import Hummingbird
import Logging
import Synchronization
import Testing

/// HTTPS set-up of the process's HTTP server, and the refusal of plain HTTP off loopback.
@Suite("Gateway TLS configuration")
struct TLSConfigurationTests {
    @Test("plain HTTP is allowed on loopback only", arguments: ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
    func loopbackAllowed(_ host: String) throws {
        var configuration = HubConfiguration()
        configuration.httpHost = host
        _ = try HubServer.httpServer(configuration)
    }

    @Test("plain HTTP on a non-loopback address is refused with one line naming the fix", arguments: ["0.0.0.0", "10.1.2.3", "gateway.example.com"])
    func nonLoopbackRefused(_ host: String) {
        var configuration = HubConfiguration()
        configuration.httpHost = host
        #expect {
            _ = try HubServer.httpServer(configuration)
        } throws: { error in
            let text = (error as? HubAppError)?.description ?? ""
            return text.contains("refusing plain HTTP") && text.contains("HUITONG_HTTP_TLS_CERTIFICATE") && !text.contains("\n")
        }
    }

    /// A self-signed certificate and key made with the openssl CLI, in a temporary folder.
    static func makeCertificate(in directory: URL) async throws -> (certificate: String, key: String) {
        let key = directory.appendingPathComponent("key.pem").path
        let certificate = directory.appendingPathComponent("cert.pem").path
        let result = try await runProcess("/usr/bin/openssl", [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key,
            "-out", certificate, "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
        ])
        try #require(result.status == 0)
        return (certificate, key)
    }

    @Test("HTTPS end to end: the server speaks TLS with the configured certificate (curl verifies it), not plain HTTP")
    func httpsServes() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gw-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let (certificate, key) = try await Self.makeCertificate(in: directory)
        var configuration = HubConfiguration()
        configuration.tlsCertificate = certificate
        configuration.tlsKey = key
        let router = Router()
        router.get("/hello") { _, _ in "hello over tls" }
        let port = Mutex<Int?>(nil)
        let application = Application(
            router: router, server: try HubServer.httpServer(configuration),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in port.withLock { $0 = channel.localAddress?.port } },
            logger: Logger(label: "tls-test", factory: { _ in SwiftLogNoOpLogHandler() }))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await application.run() }
            var bound: Int?
            for _ in 0..<200 where bound == nil {
                try await Task.sleep(for: .milliseconds(25))
                bound = port.withLock { $0 }
            }
            let serverPort = try #require(bound)
            let https = try await Self.curl(["-sS", "--cacert", certificate, "https://127.0.0.1:\(serverPort)/hello"])
            #expect(https.status == 0)
            #expect(https.output == "hello over tls")
            let plain = try await Self.curl(["-sS", "--max-time", "5", "http://127.0.0.1:\(serverPort)/hello"])
            #expect(plain.output != "hello over tls")
            group.cancelAll()
        }
    }

    static func curl(_ arguments: [String]) async throws -> (status: Int32, output: String) {
        let result = try await runProcess("/usr/bin/curl", arguments)
        return (result.status, result.stdout)
    }

    @Test("a PEM certificate and key make an HTTPS server on any address; unreadable files are a HubAppError")
    func certificateLoads() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gw-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let (certificate, key) = try await Self.makeCertificate(in: directory)

        var configuration = HubConfiguration()
        configuration.httpHost = "0.0.0.0"
        configuration.tlsCertificate = certificate
        configuration.tlsKey = key
        _ = try HubServer.httpServer(configuration)

        configuration.tlsKey = directory.appendingPathComponent("missing.pem").path
        #expect(throws: HubAppError.self) { _ = try HubServer.httpServer(configuration) }
    }
}
