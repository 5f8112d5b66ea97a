import ComplianceChecker
import Foundation
import HubAMQP
import HubCore
import HubRuntime
import HubStore
import Logging
import ServiceLifecycle
import Testing

/// Shared helpers: the database (`HUITONG_DATABASE_URL`, migrated with the hub, runtime and compliance
/// migrations), unique identifiers, fixtures.
enum ComplianceSupport {
    static let logger = Logger(label: "huitong.compliance.tests", factory: { _ in SwiftLogNoOpLogHandler() })

    static var databaseURL: String {
        ProcessInfo.processInfo.environment["HUITONG_DATABASE_URL"] ?? "postgres://huitong:huitong@127.0.0.1:5433/huitong"
    }

    static var amqpURL: String {
        ProcessInfo.processInfo.environment["HUITONG_AMQP_URL"] ?? "amqp://huitong:huitong@127.0.0.1:5673/huitong"
    }

    static func pool(size: Int = 4) throws -> PostgresPool {
        var configuration = try PostgresConfiguration(url: databaseURL)
        configuration.poolSize = size
        configuration.connectTimeout = .seconds(5)
        configuration.poolAcquireTimeout = .seconds(30)
        configuration.applicationName = "huitong-compliance-tests"
        return PostgresPool(configuration: configuration, logger: logger)
    }

    /// Migrates once per process (only the components these tests need; others are left alone).
    static func prepareDatabase() async throws { try await prepared.value }

    private static let prepared = Task<Void, any Error> {
        let pool = try ComplianceSupport.pool(size: 1)
        do {
            try await Migrator(
                migrations: HubMigrations.all + RuntimeMigrations.all + ComplianceMigrations.all, logger: logger
            ).migrate(on: pool)
        } catch {
            await pool.close()
            throw error
        }
        await pool.close()
    }

    /// The repository root.
    static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// The fixtures folder.
    static var fixtures: URL {
        Bundle.module.resourceURL!.appendingPathComponent("Fixtures")
    }

    /// The 2026 working-day calendar of the repository (holidays and 调休 as data).
    static func calendar() throws -> BusinessCalendar {
        try BusinessCalendar.decode(Data(contentsOf: repositoryRoot.appendingPathComponent("config/calendars/cn-2026.json")))
    }

    // MARK: Unique identifiers (so that runs never share cumulative state)

    /// A fresh valid USCC (R-ID-2 check character).
    static func uscc() -> String {
        let alphabet = Array("0123456789ABCDEFGHJKLMNPQRTUWXY")
        var first17 = "91320500"
        for _ in 0..<9 { first17.append(alphabet[Int.random(in: 0..<10)]) }
        return first17 + String(USCC.checkCharacter(for: first17)!)
    }

    /// A fresh valid resident ID (R-ID-4 check).
    ///
    /// Cumulative state (R-AML-5 day totals, counterparties) is keyed by the customer, and the local database keeps
    /// every run's: a number drawn from too small a space (336,000 once) meets an earlier run's customer often enough
    /// to fail a golden file now and then. The address code, year, day and sequence are all drawn: ~10^14 numbers.
    static func residentID() -> String {
        let birth = "\(Int.random(in: 1950...2005))\(String(format: "%02d", Int.random(in: 1...12)))"
            + String(format: "%02d", Int.random(in: 1...28))
        var first17 = "\(Int.random(in: 110_000...659_999))" + birth
        first17 += String(format: "%03d", Int.random(in: 0...999))
        let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
        let sum = zip(first17.compactMap { $0.wholeNumberValue }, weights).reduce(0) { $0 + $1.0 * $1.1 }
        let checks = Array("10X98765432")
        return first17 + String(checks[sum % 11])
    }

    /// A fresh 19-digit account number.
    static func account() -> String {
        "6222" + (0..<15).map { _ in String(Int.random(in: 0...9)) }.joined()
    }

    /// Envelope from a fixture message description.
    static func envelope(_ message: JSONValue, correlationID: UUID) throws -> Envelope {
        let type = try MessageType(message["type"]!.stringValue!)
        let time = try message["time"].flatMap(\.stringValue).map { try Timestamp(rfc3339: $0) } ?? .now
        return try Envelope(
            source: "urn:huitong:test:compliance", type: type, time: time,
            dataSchema: "https://huitong.example.com/contracts/schemas/test.json",
            data: message["data"]?.objectValue ?? [:], correlationID: correlationID,
            enterpriseID: try message["enterpriseid"].flatMap(\.stringValue).map { try USCC($0) })
    }
}

/// A golden file: input messages, and per message the outputs expected (projections; see ``Projection``).
struct GoldenCase: Sendable, CustomTestStringConvertible {
    var name: String
    var rule: String
    var description: String
    var vector: Int?
    var messages: [JSONValue]
    var expectations: [[JSONValue]]
    var parameters: JSONValue?

    var testDescription: String { "\(name) [\(rule)]" }

    /// Every `*.json` under Fixtures/golden, placeholders filled with fresh values.
    static func all() throws -> [GoldenCase] {
        let folder = ComplianceSupport.fixtures.appendingPathComponent("golden")
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".json") }.sorted()
        return try names.map { try load(folder.appendingPathComponent($0)) }
    }

    static func load(_ url: URL) throws -> GoldenCase {
        var text = try String(contentsOf: url, encoding: .utf8)
        let run = UUID().uuidString.prefix(8).lowercased()
        text = text.replacingOccurrences(of: "$RUN", with: String(run))
        for index in (1...6).reversed() {
            text = text.replacingOccurrences(of: "$ENT\(index)", with: ComplianceSupport.uscc())
            text = text.replacingOccurrences(of: "$PER\(index)", with: ComplianceSupport.residentID())
            text = text.replacingOccurrences(of: "$ACC\(index)", with: ComplianceSupport.account())
        }
        let root = try JSONValue.parse(text)
        return GoldenCase(
            name: url.deletingPathExtension().lastPathComponent,
            rule: root["rule"]?.stringValue ?? "",
            description: root["description"]?.stringValue ?? "",
            vector: root["vector"].flatMap { if case .number(let n) = $0 { n.intValue } else { nil } },
            messages: root["messages"]?.arrayValue ?? [],
            expectations: (root["expect"]?.arrayValue ?? []).map { $0.arrayValue ?? [] },
            parameters: root["parameters"])
    }

    /// The checker's parameters: the defaults, or the file's `parameters` member parsed as a parameters file.
    func checkerParameters() throws -> ComplianceParameters {
        guard let parameters else { return ComplianceParameters() }
        return try ComplianceParameters.parse(parameters.canonicalBytes())
    }
}

/// What a test compares of an emitted message: its type and the members an expectation names.
enum Projection {
    /// Records an issue for every difference between expected and actual outputs of one input message.
    static func compare(
        expected: [JSONValue], actual: [Envelope], context: String, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let actualTypes = actual.map { $0.type.value }
        let expectedTypes = expected.map { $0["type"]?.stringValue ?? "?" }
        guard actualTypes == expectedTypes else {
            Issue.record(
                "\(context): types \(actualTypes) (rules \(actual.map { $0.data["rule"]?.stringValue ?? $0.data["rules"].map { "\($0)" } ?? "-" })) ≠ expected \(expectedTypes)",
                sourceLocation: sourceLocation)
            return
        }
        for (want, got) in zip(expected, actual) {
            guard let members = want.objectValue else { continue }
            for member in members where member.key != "type" {
                let value = project(member.key, of: got)
                if member.key == "evidence", let wanted = member.value.objectValue {
                    for field in wanted where value?[field.key] != field.value {
                        Issue.record(
                            "\(context): \(got.type.value) evidence.\(field.key) = \(value?[field.key].map { "\($0)" } ?? "absent"), expected \(field.value)",
                            sourceLocation: sourceLocation)
                    }
                    continue
                }
                if value != member.value {
                    Issue.record(
                        "\(context): \(got.type.value) \(member.key) = \(value.map { "\($0)" } ?? "absent"), expected \(member.value)",
                        sourceLocation: sourceLocation)
                }
            }
        }
    }

    static func project(_ key: String, of envelope: Envelope) -> JSONValue? {
        switch key {
        case "total", "threshold":
            guard let amount = envelope.data[key] else { return nil }
            return .string("\(amount["value"]?.stringValue ?? "") \(amount["currency"]?.stringValue ?? "")")
        case "transactions":
            return envelope.data["transactions"]?.arrayValue.map { .number(JSONNumber($0.count)) }
        default:
            return envelope.data[key]
        }
    }
}
