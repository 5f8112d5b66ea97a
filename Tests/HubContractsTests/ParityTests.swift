import HubContracts
import HubCore
import Testing

/// The schema patterns in contracts/schemas/common.schema.json must give the same verdict as the Swift types for
/// everything the schema can express (layout, not check characters).
@Suite("Parity: common.schema.json patterns vs the Swift validated types")
struct ParityTests {
    static let commonID = "https://huitong.example.com/contracts/schemas/common.schema.json"

    func schemaAccepts(_ value: String, definition: String) throws -> Bool {
        let registry = try #require(loadedSchemas)
        return try registry.validate(.string(value), against: Self.commonID + "#/$defs/" + definition).isEmpty
    }

    @Test("uscc: the schema accepts exactly the R-ID-1 layouts (the R-ID-2 check is Swift-only)", arguments: [
        "91320500MA1Q7H2K3A", "91320500MA1Q7H2K3B", "91320500MAIQ7H2K3A", "91320500ma1q7h2k3a", "9132050XMA1Q7H2K3A",
        "91320500MA1Q7H2K3", "91320500MA1Q7H2K3AA", "Y1320500MA1Q7H2K3A", "91320500MA1Q7H2KSA", " 91320500MA1Q7H2K3A",
    ])
    func uscc(_ value: String) throws {
        var swiftLayoutOK = true
        do { _ = try USCC(value) } catch { swiftLayoutOK = error.code != .invalidFormat }
        #expect(try schemaAccepts(value, definition: "uscc") == swiftLayoutOK)
    }

    @Test("messageType", arguments: [
        "payments.transfer.request.v1", "a.b.c.v10", "a-b.c1.d-e.v999", "payments.transfer.request", "a.b.c.v0",
        "a.b.c.v01", "A.b.c.v1", "1a.b.c.v1", "a.b.c.d.v1", "a..c.v1", "a.b.c.v1 ", "a.b_c.d.v1", "-a.b.c.v1",
    ])
    func messageType(_ value: String) throws {
        #expect(try schemaAccepts(value, definition: "messageType") == ((try? MessageType(value)) != nil))
    }

    @Test("partnerId", arguments: ["acme-erp", "a1", "a", "-acme", "Acme", "acme_erp", String(repeating: "a", count: 63),
                                    String(repeating: "a", count: 64), "0-", "acme erp"])
    func partnerID(_ value: String) throws {
        #expect(try schemaAccepts(value, definition: "partnerId") == ((try? PartnerID(value)) != nil))
    }

    @Test("traceparent", arguments: [
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g",
    ])
    func traceParent(_ value: String) throws {
        #expect(try schemaAccepts(value, definition: "traceparent") == ((try? TraceParent(value)) != nil))
    }

    @Test("uuidv7", arguments: [
        "019a1b2c-3d4e-7f60-8a1b-2c3d4e5f6072", "019a1b2c-3d4e-4f60-8a1b-2c3d4e5f6072",
        "019a1b2c-3d4e-7f60-ca1b-2c3d4e5f6072", "019A1B2C-3D4E-7F60-8A1B-2C3D4E5F6072", "019a1b2c3d4e7f608a1b2c3d4e5f6072",
    ])
    func uuidv7(_ value: String) throws {
        #expect(try schemaAccepts(value, definition: "uuidv7") == ((try? MessageID(value)) != nil))
    }

    @Test("amount: the schema accepts the R-GEN-3 grammar with up to 4 fraction digits (CLF, the widest currency)",
          arguments: ["0", "0.5", "1234.50", "-0.0001", "999999999999999999.9999", "1000000000000000000", "012", "1.",
                      ".5", "+1", "1e3", "1.00001", " 1", "-"])
    func amount(_ value: String) throws {
        let swift = (try? Money(string: value, currency: CurrencyCode("CLF"))) != nil
        #expect(try schemaAccepts(value, definition: "amount") == swift)
    }

    @Test("timestamp: same layouts (real-date checks are Swift-only and not in this list)", arguments: [
        "2026-05-01T08:30:00Z", "2026-05-01T08:30:00.123456789+08:00", "2026-05-01T08:30:00", "2026-05-01t08:30:00z",
        "2026-05-01T08:30:00.Z", "2026-05-01T08:30:00+0800", "2026-05-01 08:30:00Z", "2026-05-01T08:30:00.1234567890Z",
    ])
    func timestamp(_ value: String) throws {
        #expect(try schemaAccepts(value, definition: "timestamp") == ((try? Timestamp(rfc3339: value)) != nil))
    }
}
