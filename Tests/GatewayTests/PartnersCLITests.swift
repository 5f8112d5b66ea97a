import Foundation
import Gateway
import HubCore
import HubCrypto
import HubStore
import Testing

/// `huitong partners add | list | rotate | revoke`, run as an operator would (the built binary).
@Suite("Gateway partners CLI")
struct PartnersCLITests {
    static var binary: URL { GatewaySupport.repositoryRoot.appendingPathComponent(".build/debug/huitong") }

    static func huitong(_ arguments: [String]) async throws -> ProcessOutput {
        try await runProcess(
            binary.path, arguments,
            environment: [
                "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
                "HUITONG_AMQP_URL": GatewaySupport.amqpURL,
                "HUITONG_DATABASE_URL": GatewaySupport.databaseURL,
                "HUITONG_GATEWAY_MASTER_KEY": String(repeating: "42", count: 32),
            ],
            directory: GatewaySupport.repositoryRoot)
    }

    static func secret(in output: String) -> [UInt8]? {
        guard let line = output.split(separator: "\n").first(where: { $0.hasPrefix("hmac-sm3 secret") }),
              let hex = line.split(separator: " ").last, hex.count == 64
        else { return nil }
        return stride(from: 0, to: 64, by: 2).compactMap { offset in
            let start = hex.index(hex.startIndex, offsetBy: offset)
            return UInt8(hex[start..<hex.index(start, offsetBy: 2)], radix: 16)
        }
    }

    @Test("add prints the secret once and stores it sealed; rotate with no overlap retires the old one; revoke ends it")
    func lifecycle() async throws {
        let id = GatewaySupport.unique("cli")
        let added = try await Self.huitong([
            "partners", "add", id, "--type", "hub.heartbeat.ping.v1", "--enterprise", "91320500MA1Q7H2K3A",
        ])
        #expect(added.status == 0, "\(added.stderr)")
        let first = try #require(Self.secret(in: added.stdout))

        // The secret is not stored in clear (R-SEC-3: no plaintext secrets at rest).
        let pool = try await GatewaySupport.pool()
        let stored = try await pool.query("SELECT secret_sealed FROM gateway.credentials WHERE partner_id = \(id)")
        let sealed: [UInt8] = try stored.rows[0].decode(column: "secret_sealed")
        #expect(sealed.count > first.count)
        #expect(!sealed.indices.dropLast(first.count - 1).contains { Array(sealed[$0..<($0 + first.count)]) == first })

        let listed = try await Self.huitong(["partners", "list", "--json"])
        let line = try #require(listed.stdout.split(separator: "\n").first { $0.contains("\"\(id)\"") })
        #expect(line.contains("hub.heartbeat.ping.v1") && line.contains("\"active\"") && !line.contains(Hex.encode(first)))

        let rotated = try await Self.huitong(["partners", "rotate", id, "--overlap", "0"])
        #expect(rotated.status == 0, "\(rotated.stderr)")
        let second = try #require(Self.secret(in: rotated.stdout))
        let store = PartnerStore(pool: pool, keyring: GatewaySupport.keyring)
        let canonical = try CanonicalRequest(
            method: "POST", target: "/v1/messages", partner: id, timestamp: "1", nonce: "0123456789abcdef", body: [UInt8]())
        let partner = try #require(try await store.load(id: try PartnerID(id)))
        let oldSignature = try RequestSigner(partner: id, key: .hmacSM3(SymmetricKey(data: first))).signature(for: canonical)
        let newSignature = try RequestSigner(partner: id, key: .hmacSM3(SymmetricKey(data: second))).signature(for: canonical)
        #expect(partner.verify(newSignature, for: canonical.bytes, now: Date()) == 2)
        #expect(partner.verify(oldSignature, for: canonical.bytes, now: Date()) == nil)

        let revoked = try await Self.huitong(["partners", "revoke", id])
        #expect(revoked.status == 0, "\(revoked.stderr)")
        #expect(try await store.load(id: try PartnerID(id))?.status == .revoked)

        // Operator mistakes are one line with a fix, exit 1.
        let duplicate = try await Self.huitong(["partners", "add", id])
        #expect(duplicate.status == 1)
        #expect(duplicate.stderr.contains("already exists") && duplicate.stderr.contains("fix:"))
        let badUSCC = try await Self.huitong(["partners", "add", GatewaySupport.unique("bad"), "--enterprise", "91320500MA1Q7H2K3B"])
        #expect(badUSCC.status == 1)
        #expect(badUSCC.stderr.contains("R-ID-2"))
        await pool.close()
    }
}

/// The partner cache and its invalidation by `NOTIFY gateway_partners`.
@Suite("Gateway partner cache")
struct PartnerCacheTests {
    @Test("a revoke clears the gateway's partner cache at once through NOTIFY, not only after the TTL (GW-AUTH-3)")
    func revokeInvalidatesCache() async throws {
        let pool = try await GatewaySupport.pool()
        let store = PartnerStore(pool: pool, keyring: GatewaySupport.keyring)
        let id = try PartnerID(GatewaySupport.unique("cache"))
        try await store.add(
            id: id, name: id.value, grants: Partner.Grants(messageTypes: ["*"]),
            credential: .hmacSM3(secret: [UInt8](repeating: 4, count: 32)))
        let directory = PartnerDirectory(base: store, ttl: .seconds(3_600))
        #expect(try await directory.partner(id)?.status == .active)
        let maintenance = PartnerMaintenance(
            store: store, directory: directory, pool: pool, interval: .seconds(3_600), logger: GatewaySupport.logger)
        let task = Task { try await maintenance.run() }
        // Let the listener start (it clears the whole cache when it (re)connects); then prime the cache again.
        try await Task.sleep(for: .milliseconds(500))
        #expect(try await directory.partner(id)?.status == .active)
        try await store.revoke(id: id)
        var status: Partner.Status? = .active
        for _ in 0..<100 where status == .active {
            try await Task.sleep(for: .milliseconds(50))
            status = try await directory.partner(id)?.status
        }
        #expect(status == .revoked)
        task.cancel()
        _ = try? await task.value
        await pool.close()
    }
}
