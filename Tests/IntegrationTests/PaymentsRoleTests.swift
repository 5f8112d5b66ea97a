import Configuration
import Foundation
import HubApp
import HubCore
import PaymentsService
import Testing

/// The `payments` role's configuration and topology (no servers needed).
@Suite("Payments role: configuration keys and bindings")
struct PaymentsRoleTests {
    func read(_ values: [String: String]) throws -> PaymentsConfiguration {
        var config: [AbsoluteConfigKey: ConfigValue] = [:]
        for (key, value) in values { config[AbsoluteConfigKey(ConfigKey("huitong.payments." + key))] = .init(.string(value), isSecret: false) }
        return try PaymentsRoleConfiguration.read(ConfigReader(providers: [InMemoryProvider(name: "test", values: config)]))
    }

    @Test("Defaults: gate on, 24 h duplicate window (R-PAY-5), 30 s adapter timeout (R-PAY-4), HVPS 20:30–17:15, BEPS limit and R-PAY-8 limit 50,000.00")
    func defaults() throws {
        let configuration = try read([:])
        #expect(configuration.complianceGate)
        #expect(configuration.duplicateWindow == .seconds(86_400))
        #expect(configuration.adapterTimeout == .seconds(30))
        #expect(configuration.hvpsOpens.description == "20:30")
        #expect(configuration.hvpsCutoff.description == "17:15")
        #expect(configuration.bepsLimit.amountString == "50000.00")
        #expect(configuration.personTransferLimit.amountString == "50000.00")
        #expect(configuration.lowValueRail == .beps)
    }

    @Test("Regulator and bank numbers are configuration; the calendar is a data file (R-GEN-4)")
    func configured() throws {
        let calendar = AMQPSupport.repositoryRoot.appendingPathComponent("config/calendars/cn-2026.json").path
        let configuration = try read([
            "compliance-gate": "off", "duplicate-window": "3600", "adapter-timeout": "5", "hvps.cutoff": "16:00",
            "beps-limit": "100000.00", "low-value-rail": "ibps", "person-transfer-limit": "20000.00",
            "ecny.operators": "ICBC, CCB", "calendar": calendar,
        ])
        #expect(!configuration.complianceGate)
        #expect(configuration.duplicateWindow == .seconds(3_600))
        #expect(configuration.adapterTimeout == .seconds(5))
        #expect(configuration.hvpsCutoff.description == "16:00")
        #expect(configuration.bepsLimit.amountString == "100000.00")
        #expect(configuration.lowValueRail == .ibps)
        #expect(configuration.personTransferLimit.amountString == "20000.00")
        #expect(configuration.walletOperators == ["ICBC", "CCB"])
        // 2026-10-01 (National Day, a Thursday) is a holiday; 2026-10-10 (a Saturday) a make-up working day.
        #expect(!configuration.calendar.isWorkingDay(CalendarDate("2026-10-01")!))
        #expect(configuration.calendar.isWorkingDay(CalendarDate("2026-10-10")!))
    }

    @Test("A bad value is one line naming the key and its environment variable", arguments: [
        ("compliance-gate", "maybe"), ("beps-limit", "50,000"), ("hvps.opens", "8:30pm"), ("low-value-rail", "HVPS"),
        ("adapter-timeout", "0"), ("calendar", "/nonexistent/calendar.json"),
    ])
    func invalid(_ key: String, _ value: String) {
        do {
            _ = try read([key: value])
            Issue.record("accepted \(key)=\(value)")
        } catch {
            let line = "\(error)"
            #expect(line.contains("huitong.payments.\(key)"))
            #expect(line.contains("HUITONG_PAYMENTS_"))
            #expect(!line.contains("\n"))
        }
    }

    @Test("svc.payments is bound to exactly the types payments handles, and the role is built and in 'all'")
    func topology() throws {
        let role = try #require(HubRole.known.first { $0.name == "payments" })
        #expect(role.isBuilt && role.includedInAll)
        let consumer = try #require(role.consumers.first)
        #expect(consumer.queue == "svc.payments")
        let bound = Set(consumer.bindings.map { "\($0.exchange) \($0.routingKey)" })
        let handled = Set(PaymentsMessageType.consumed.map { type -> String in
            let exchange = type.hasPrefix("payments.") ? "hub.commands" : "hub.events"
            return "\(exchange) \(type.split(separator: ".").dropLast().joined(separator: "."))"
        })
        #expect(bound == handled)
        #expect(try HubRole.resolve(["all"]).contains { $0.name == "payments" })
    }
}
