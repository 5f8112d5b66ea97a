import ComplianceChecker
import Configuration
import Foundation
import HubApp
import HubCore
import Testing

/// The `compliance` role's keys: each validated, a bad value named in one line with its environment variable.
@Suite("compliance role configuration")
struct RoleConfigurationTests {
    func reader(_ values: [String: String]) -> ConfigReader {
        var table: [AbsoluteConfigKey: ConfigValue] = [:]
        for (key, value) in values {
            table[AbsoluteConfigKey(key.split(separator: ".").map(String.init))] = ConfigValue(.string(value), isSecret: false)
        }
        return ConfigReader(providers: [InMemoryProvider(name: "test", values: table)])
    }

    @Test("the role's queue is bound to # on commands and events, not on hub.dead")
    func topology() {
        let consumer = ComplianceRoleConfiguration.consumer()
        #expect(consumer.queue == "tap.compliance")
        #expect(Set(consumer.bindings.map { "\($0.exchange) \($0.routingKey)" }) == ["hub.commands #", "hub.events #"])
        #expect(HubRole.known.contains { $0.name == "compliance" && $0.isBuilt })
    }

    @Test("keys override the defaults and the parameters file")
    func keys() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("compliance-\(UUID().uuidString).json")
        try Data(#"{"holds": {"fourEyes": false, "expirySeconds": 60}, "cash": {"rmb": "60000", "usd": "10000"}}"#.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let settings = try ComplianceRoleConfiguration(reader: reader([
            "huitong.compliance.parameters-file": file.path,
            "huitong.compliance.four-eyes": "on",
            "huitong.compliance.hold-amount-threshold": "5000000.00",
            "huitong.compliance.hold-new-counterparty": "on",
            "huitong.compliance.screened-types": "payments.transfer.request.v1",
            "huitong.compliance.calendar-file": ComplianceSupport.repositoryRoot.appendingPathComponent("config/calendars/cn-2026.json").path,
            "huitong.compliance.watchlists": "a.json, b",
        ]))
        #expect(settings.parameters.cash.rmb == 60_000)
        #expect(settings.parameters.holds.expirySeconds == 60)
        #expect(settings.parameters.holds.fourEyes)
        #expect(settings.parameters.holds.onNewCounterparty)
        #expect(settings.parameters.holds.amountThreshold == 5_000_000)
        #expect(settings.parameters.screenedTypes == ["payments.transfer.request.v1"])
        #expect(settings.calendar.name == "CN")
        #expect(settings.watchlistPaths == ["a.json", "b"])
    }

    @Test("a bad value fails with one line naming the key and its environment variable", arguments: [
        ("four-eyes", "maybe", "HUITONG_COMPLIANCE_FOUR_EYES"),
        ("hold-amount-threshold", "12.345", "HUITONG_COMPLIANCE_HOLD_AMOUNT_THRESHOLD"),
        ("hold-expiry", "0", "HUITONG_COMPLIANCE_HOLD_EXPIRY"),
        ("screened-types", "payments.transfer", "HUITONG_COMPLIANCE_SCREENED_TYPES"),
        ("parameters-file", "/nonexistent/parameters.json", "HUITONG_COMPLIANCE_PARAMETERS_FILE"),
        ("calendar-file", "/nonexistent/calendar.json", "HUITONG_COMPLIANCE_CALENDAR_FILE"),
    ])
    func refused(_ key: String, _ value: String, _ environment: String) {
        do {
            _ = try ComplianceRoleConfiguration(reader: reader(["huitong.compliance.\(key)": value]))
            Issue.record("accepted \(key)=\(value)")
        } catch let error as HubAppError {
            #expect(error.description.contains(environment), "\(error)")
            #expect(!error.description.contains("\n"))
        } catch {
            Issue.record("unexpected \(error)")
        }
    }
}
