import Foundation
import HubTestSupport
import HubAMQP
import HubCore
import Logging
import Synchronization
import Testing

/// The whole payments flow as an operator runs it: `huitong simulate interbank`, `huitong simulate ecny` and
/// `huitong serve --roles payments,compliance,adapter.interbank,adapter.ecny` as real processes, the real broker and
/// database, simulators with faults switched on. The test only publishes partner commands and watches the events.
///
/// It runs in a vhost and a database of its own (`huitong_e2e`), so no other test's consumers (or another `serve`)
/// take its messages, and its fixed-name queues (`svc.payments`, `adp.*`, `tap.compliance`) are its own.
@Suite("End to end: payments, compliance and both adapters with simulators (processes, real servers)", .serialized)
struct EndToEndFlowTests {
    static let enterprise = "91320500MA1Q7H2K3A"  // REFERENCE.md vector 1
    static let debtorAgent = "102305000014"
    static let creditorAgent = "104290003019"

    @Test("Both rails settle, rejections carry ISO 20022 codes, a silent bank is resolved by a status query, duplicate callbacks settle once, a duplicate request sends nothing, a hold waits for a reviewer")
    func wholeFlow() async throws {
        try await E2EEnvironment.with { env in
            let suffix = env.suffix
            func creditor(_ account: String, kind: String = "enterprise") -> JSONValue {
                ["name": "上海供应商有限公司", "kind": .string(kind), "account": .string(account), "agent": .string(Self.creditorAgent)]
            }
            func wallet(_ id: String) -> JSONValue {
                ["name": "张三", "kind": "person", "wallet": .string(id), "walletOperator": "ICBC"]
            }

            // Interbank (BEPS/IBPS: ≤ 50,000 routes 7×24, so the result does not depend on the hour the test runs).
            let happy = try env.transfer("e2e-ok-\(suffix)", "1250.00", creditor("6228480000000001"))
            let rejected = try env.transfer("e2e-ac01-\(suffix)", "300.00", creditor("6228480000009901"))
            let silent = try env.transfer("e2e-silent-\(suffix)", "480.00", creditor("6228480000009980"))
            // e-CNY: wallet digits say tier, opening balance and behaviour (docs/adapters.md).
            let ecny = try env.transfer("e2e-ecny-\(suffix)", "88.88", wallet("2000000000001000"))
            let ecnyDuplicateCallbacks = try env.transfer("e2e-ecny-dup-\(suffix)", "66.66", wallet("2000000000001003"))
            let capOK = try env.transfer("e2e-cap-ok-\(suffix)", "1000.00", wallet("3000000000190001"))     // R-ECNY-1, vector 24
            let capExceeded = try env.transfer("e2e-cap-over-\(suffix)", "1000.01", wallet("3000000000190000"))
            // Over the hold threshold configured for compliance: held until a reviewer releases it.
            let held = try env.transfer("e2e-held-\(suffix)", "45000.00", creditor("6228480000000002"))

            try await env.publish([happy, rejected, silent, ecny, ecnyDuplicateCallbacks, capOK, capExceeded, held])

            let settled = "payments.transfer.settled.v1"
            let failed = "payments.transfer.failed.v1"
            try await env.waitFor(happy, settled)
            try await env.waitFor(rejected, failed)
            try await env.waitFor(silent, settled)
            try await env.waitFor(ecny, settled)
            try await env.waitFor(ecnyDuplicateCallbacks, settled)
            try await env.waitFor(capOK, settled)
            try await env.waitFor(capExceeded, failed)

            // The flow's events, in order. Two steps depend on timing, not on the hub: pending-compliance is absent
            // when compliance's verdict arrived before payments took the command (both run in this serve), and a
            // status-unknown comes between executing and settled when the simulator's seeded hang or the machine's
            // load made the adapter miss its 3 s answer (then the status query settles it: R-PAY-4). Nothing else.
            let happyTypes = await env.types(happy)
            let essential = happyTypes.filter {
                $0 != "payments.transfer.pending-compliance.v1" && $0 != "payments.transfer.status-unknown.v1"
            }
            #expect(essential == ["payments.transfer.accepted.v1", "payments.transfer.executing.v1", settled], "\(happyTypes)")
            if let pending = happyTypes.firstIndex(of: "payments.transfer.pending-compliance.v1") {
                #expect(pending == 1, "pending-compliance right after accepted: \(happyTypes)")
            }
            if let unknown = happyTypes.firstIndex(of: "payments.transfer.status-unknown.v1") {
                #expect(happyTypes.firstIndex(of: "payments.transfer.executing.v1").map { $0 < unknown } == true,
                        "status-unknown only after executing: \(happyTypes)")
            }
            #expect(await env.data(rejected, failed)?["reasonCode"]?.stringValue == "AC01")
            #expect(await env.data(capExceeded, failed)?["reasonCode"]?.stringValue == "AM14")
            // R-PAY-4: a bank that never answered the first pacs.008 is asked for the status; the transfer is never
            // resubmitted under a new id — exactly one submit command for it.
            #expect(await env.commands(silent, "interbank.credit-transfer.submit.v1").count == 1)
            let uetrs = Set(await env.commands(silent).compactMap { $0["uetr"]?.stringValue })
            #expect(uetrs.count == 1, "every command of the transfer names the same UETR")
            // Duplicate and out-of-order callbacks from the operator end in one settlement.
            #expect(await env.count(ecnyDuplicateCallbacks, settled) == 1)
            #expect(await env.count(ecny, settled) == 1)
            let rail = await env.data(happy, "payments.transfer.executing.v1")?["rail"]?.stringValue
            // Which interbank rail depends on the hour (HVPS while open, else BEPS/IBPS for ≤ 50,000: R-PAY-1, unit-tested
            // in PaymentsTests with a fixed clock); here it must be an interbank rail and the adapter must have taken it.
            #expect(["HVPS", "BEPS", "IBPS"].contains(rail ?? ""), "got \(rail ?? "none")")
            #expect(await env.commands(happy, "interbank.credit-transfer.submit.v1").first?["rail"]?.stringValue == rail)
            #expect(await env.data(ecny, "payments.transfer.executing.v1")?["rail"]?.stringValue == "ECNY")

            // R-PAY-3: the same request again (new message id, same key and payload) sends nothing; a changed
            // payload under the same key is rejected AM05. The marker, from the same enterprise, is handled after them
            // in the same ordering lane, so when it is accepted the two before it have been handled.
            let again = try env.transfer("e2e-ok-\(suffix)", "1250.00", creditor("6228480000000001"))
            let changed = try env.transfer("e2e-ok-\(suffix)", "1250.01", creditor("6228480000000001"))
            let marker = try env.transfer("e2e-marker-\(suffix)", "10.00", creditor("6228480000000003"))
            try await env.publish([again, changed, marker])
            try await env.waitFor(marker, "payments.transfer.accepted.v1")
            try await env.waitFor(changed, "payments.transfer.rejected.v1")
            #expect(await env.types(again).isEmpty, "a repeated request emits nothing")
            #expect(await env.data(changed, "payments.transfer.rejected.v1")?["reasonCode"]?.stringValue == "AM05")

            // The held transfer: compliance placed a hold, payments waits; a reviewer releases it with the CLI.
            let placed = try await env.waitFor(held, "compliance.hold.placed.v1")
            #expect(await env.count(held, "payments.transfer.executing.v1") == 0, "nothing executes while held")
            let holdID = try #require(placed["holdId"]?.stringValue)
            let release = try await env.huitong(["compliance", "holds", "release", holdID, "--reason", "documents checked", "--as", "e2e-reviewer"])
            #expect(release.status == 0, "\(release.output)")
            try await env.waitFor(held, "compliance.hold.released.v1")
            try await env.waitFor(held, settled)
        }
    }
}

/// The processes and the broker/database of one end-to-end run.
final class E2EEnvironment: Sendable {
    static let vhost = "huitong_e2e"
    static let database = "huitong_e2e"
    static let logger = Logger(label: "huitong.e2e", factory: { _ in SwiftLogNoOpLogHandler() })

    let suffix: String
    let amqpURL: String
    let databaseURL: String
    let directory: URL
    let eventsQueue: String
    private let seen = Mutex<[UUID: [(type: String, data: JSONObject)]]>([:])

    private init(suffix: String, directory: URL) throws {
        self.suffix = suffix
        self.directory = directory
        self.amqpURL = Self.replacingPath(of: AMQPSupport.url, with: Self.vhost)
        self.databaseURL = Self.replacingPath(of: StoreSupport.databaseURL, with: Self.database)
        self.eventsQueue = "test.e2e.events-\(suffix)"
    }

    static func replacingPath(of url: String, with path: String) -> String {
        guard var components = URLComponents(string: url) else { return url }
        components.path = "/\(path)"
        return components.string ?? url
    }

    /// Creates the vhost and database (once; both survive between runs), starts the simulators and the hub, runs
    /// `body`, and stops everything whatever happened. Logs stay in `.build/e2e-logs/<suffix>/`.
    static func with(_ body: (E2EEnvironment) async throws -> Void) async throws {
        _ = try? await AMQPSupport.rabbitmqctl(["add_vhost", vhost])
        _ = try await AMQPSupport.rabbitmqctl(["set_permissions", "-p", vhost, "huitong", ".*", ".*", ".*"])
        _ = try? await RuntimeSupport.psql(["-d", "postgres", "-c", "CREATE DATABASE \(database) OWNER huitong"])

        let suffix = UUID().uuidString.prefix(8).lowercased()
        let directory = AMQPSupport.repositoryRoot.appending(path: ".build/e2e-logs/\(suffix)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let environment = try E2EEnvironment(suffix: String(suffix), directory: directory)
        let keys = directory.appending(path: "keys").path
        let made = try await environment.huitong(["simulate", "keys", "--dir", keys])
        try #require(made.status == 0, "simulate keys: \(made.output)")

        let interbankPort = try freePort()
        let ecnyPort = try freePort()
        let hubPort = try freePort()
        var processes: [Process] = []
        defer {
            for process in processes where process.isRunning { process.terminate() }
            for process in processes { process.waitUntilExit() }
        }
        processes.append(try environment.start("interbank-sim", [
            "simulate", "interbank", "--port", "\(interbankPort)", "--seed", "7",
            "--faults", "latency=5ms,5xx=0.1,pending=0.3,duplicate=0.3,hang=4s",
        ]))
        processes.append(try environment.start("ecny-sim", [
            "simulate", "ecny", "--port", "\(ecnyPort)", "--seed", "7", "--keys-dir", keys + "/ecny",
            "--callback-url", "http://127.0.0.1:\(hubPort)/callbacks/ecny/v1/settlements",
            "--faults", "latency=5ms,5xx=0.1,duplicate=0.3,reorder=0.3",
        ]))
        processes.append(try environment.start("serve", ["serve", "--shutdown-timeout", "10"], extra: [
            "HUITONG_ROLES": "payments,compliance,adapter.interbank,adapter.ecny",
            "HUITONG_HTTP_PORT": "\(hubPort)",
            "HUITONG_INTERBANK_URL": "http://127.0.0.1:\(interbankPort)",
            "HUITONG_INTERBANK_TIMEOUT": "2",
            "HUITONG_INTERBANK_STATUS_QUERY_DELAY": "1",
            "HUITONG_ECNY_URL": "http://127.0.0.1:\(ecnyPort)",
            "HUITONG_ECNY_KEYS_DIR": keys + "/ecny",
            "HUITONG_ECNY_TIMEOUT": "2",
            "HUITONG_ECNY_SETTLEMENT_QUERY_DELAY": "3",
            "HUITONG_PAYMENTS_ADAPTER_TIMEOUT": "3",
            "HUITONG_COMPLIANCE_HOLD_AMOUNT_THRESHOLD": "40000.00",
            "HUITONG_COMPLIANCE_CALENDAR_FILE": "config/calendars/cn-2026.json",
        ]))
        for name in ["interbank-sim", "ecny-sim", "serve"] {
            try await environment.waitForLog(name, containing: "listening on")
        }

        // The test's window on the hub: payments and compliance events, and the commands sent to the adapters.
        let amqp = try AMQPConfiguration(url: environment.amqpURL, connectionName: "e2e-observer-\(suffix)")
        let connection = try await AMQPConnection.connect(configuration: amqp, logger: logger)
        try await connection.declare(Topology(
            queues: [Topology.Queue(name: environment.eventsQueue)],
            bindings: [
                Topology.Binding(queue: environment.eventsQueue, exchange: Topology.ExchangeName.events, routingKey: "payments.#"),
                Topology.Binding(queue: environment.eventsQueue, exchange: Topology.ExchangeName.events, routingKey: "compliance.hold.*"),
                Topology.Binding(queue: environment.eventsQueue, exchange: Topology.ExchangeName.commands, routingKey: "interbank.#"),
                Topology.Binding(queue: environment.eventsQueue, exchange: Topology.ExchangeName.commands, routingKey: "ecny.#"),
            ]))
        let consumer = AMQPConsumer(configuration: amqp, logger: logger)
        let deliveries = consumer.consume(queue: environment.eventsQueue, prefetch: 100)
        let observer = Task {
            for try await delivery in deliveries {
                if let envelope = try? Envelope.decode(bytes: delivery.body), let flow = envelope.correlationID {
                    environment.record(flow, envelope.type.value, envelope.data)
                }
                try await delivery.ack()
            }
        }
        let outcome: Result<Void, any Error>
        do { outcome = .success(try await body(environment)) } catch { outcome = .failure(error) }
        await deliveries.stop()
        observer.cancel()
        _ = try? await connection.deleteQueue(environment.eventsQueue)
        await connection.close()
        try outcome.get()
    }

    private func record(_ flow: UUID, _ type: String, _ data: JSONObject) {
        seen.withLock { $0[flow, default: []].append((type, data)) }
    }

    /// A transfer request from the test enterprise; its correlation id is the flow.
    func transfer(_ clientRequestId: String, _ amount: String, _ creditor: JSONValue) throws -> Envelope {
        try Envelope(
            source: "/partners/e2e-erp", type: MessageType("payments.transfer.request.v1"),
            dataSchema: "https://huitong.example.com/contracts/schemas/payments/transfer-request.v1.schema.json",
            data: [
                "clientRequestId": .string(clientRequestId),
                // A debtor account of this run: R-PAY-5 (same debtor, creditor, amount and date within the window)
                // would otherwise reject a rerun's transfers as duplicates of the previous run's.
                "debtor": ["name": "苏州汇通制造有限公司", "account": .string(debtorAccount),
                           "agent": .string(EndToEndFlowTests.debtorAgent), "kind": "enterprise"],
                "creditor": creditor,
                "amount": ["value": .string(amount), "currency": "CNY"],
                "remittanceInformation": .string("E2E \(clientRequestId)"),
            ],
            correlationID: UUID(), enterpriseID: try USCC(EndToEndFlowTests.enterprise))
    }

    /// `6222` and 12 digits from the run's suffix.
    var debtorAccount: String {
        "6222" + suffix.unicodeScalars.map { String($0.value % 10) }.joined() + "0018"
    }

    /// Publishes commands to `hub.commands` with confirms, in order.
    func publish(_ envelopes: [Envelope]) async throws {
        let configuration = try AMQPConfiguration(url: amqpURL, connectionName: "e2e-partner-\(suffix)")
        try await AMQPPublisher.withPublisher(configuration: configuration, logger: Self.logger) { publisher in
            for envelope in envelopes {
                try await publisher.publish(AMQPMessage(envelope: envelope, exchange: Topology.ExchangeName.commands))
            }
        }
    }

    /// The message types seen for a flow, in arrival order, events only (commands to the adapters excluded).
    func types(_ request: Envelope) async -> [String] {
        messages(request).map(\.type).filter { $0.hasPrefix("payments.") }
    }

    func count(_ request: Envelope, _ type: String) async -> Int {
        messages(request).filter { $0.type == type }.count
    }

    func data(_ request: Envelope, _ type: String) async -> JSONObject? {
        messages(request).first { $0.type == type }?.data
    }

    /// The commands payments sent to the adapters for a flow (optionally of one type).
    func commands(_ request: Envelope, _ type: String? = nil) async -> [JSONObject] {
        messages(request).filter { type == nil ? ($0.type.hasPrefix("interbank.") || $0.type.hasPrefix("ecny.")) : $0.type == type }
            .map(\.data)
    }

    private func messages(_ request: Envelope) -> [(type: String, data: JSONObject)] {
        guard let flow = request.correlationID else { return [] }
        return seen.withLock { $0[flow] ?? [] }
    }

    /// Waits until a message of `type` is seen for the flow and returns its data. The 120 s bound only keeps a
    /// broken flow from hanging the suite; it is not a timing assertion.
    @discardableResult
    func waitFor(_ request: Envelope, _ type: String, sourceLocation: SourceLocation = #_sourceLocation) async throws -> JSONObject {
        let found = try await RuntimeSupport.eventually(timeout: .seconds(120)) { await self.data(request, type) != nil }
        guard found, let data = await data(request, type) else {
            let seenTypes = messages(request).map(\.type)
            Issue.record("no \(type) for \(request.data["clientRequestId"]?.stringValue ?? "?"); seen: \(seenTypes); logs in \(directory.path)",
                         sourceLocation: sourceLocation)
            throw E2EError("flow did not reach \(type)")
        }
        return data
    }

    private var environment: [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["HUITONG_AMQP_URL"] = amqpURL
        environment["HUITONG_DATABASE_URL"] = databaseURL
        environment["HUITONG_LOG_LEVEL"] = "info"
        return environment
    }

    /// Starts `huitong ARGS` with its output in `<name>.log`.
    func start(_ name: String, _ arguments: [String], extra: [String: String] = [:]) throws -> Process {
        let process = Process()
        process.executableURL = ProofProcess.binary
        process.arguments = arguments
        process.environment = environment.merging(extra) { _, new in new }
        process.currentDirectoryURL = AMQPSupport.repositoryRoot
        let logURL = directory.appending(path: "\(name).log")
        FileManager.default.createFile(atPath: logURL.path, contents: nil)
        let log = try FileHandle(forWritingTo: logURL)
        process.standardOutput = log
        process.standardError = log
        try process.run()
        try? log.close()
        return process
    }

    /// Runs `huitong ARGS` against the run's vhost and database, to completion (``Command``: no blocked thread).
    func huitong(_ arguments: [String]) async throws -> (status: Int32, output: String) {
        let result = try await Command.run(
            ProofProcess.binary.path, arguments, environment: environment, directory: AMQPSupport.repositoryRoot.path)
        return (result.status, result.stdout + result.stderr)
    }

    func waitForLog(_ name: String, containing text: String) async throws {
        let url = directory.appending(path: "\(name).log")
        let found = try await RuntimeSupport.eventually(timeout: .seconds(90)) {
            ((try? String(contentsOf: url, encoding: .utf8)) ?? "").contains(text)
        }
        if !found {
            let log = (try? String(contentsOf: url, encoding: .utf8)) ?? ""
            throw E2EError("\(name) did not start: \(log.suffix(2000))")
        }
    }

    /// A TCP port nobody listens on right now (bind to port 0, read it, close).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw E2EError("socket failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw E2EError("bind failed") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

struct E2EError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
