import Foundation
@testable import HubApp
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

    @Test("a PEM certificate and key make an HTTPS server on any address; unreadable files are a HubAppError")
    func certificateLoads() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gw-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let key = directory.appendingPathComponent("key.pem").path
        let certificate = directory.appendingPathComponent("cert.pem").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key,
            "-out", certificate, "-days", "1", "-subj", "/CN=gateway.test",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0)

        var configuration = HubConfiguration()
        configuration.httpHost = "0.0.0.0"
        configuration.tlsCertificate = certificate
        configuration.tlsKey = key
        _ = try HubServer.httpServer(configuration)

        configuration.tlsKey = directory.appendingPathComponent("missing.pem").path
        #expect(throws: HubAppError.self) { _ = try HubServer.httpServer(configuration) }
    }
}
