import Foundation
import HubTestSupport
import Gateway
import HubAMQP
import HubApp
import HubCore
import HubCrypto
import HubStore
import Hummingbird
import HummingbirdTesting
import HTTPTypes
import Logging
import NIOCore
import Synchronization

/// Shared helpers of the gateway tests: the real broker and database (HUITONG_AMQP_URL, HUITONG_DATABASE_URL),
/// unique partner ids and queues, a signing client, and a way to wait for messages on the broker.
enum GatewaySupport {
    static var amqpURL: String {
        ProcessInfo.processInfo.environment["HUITONG_AMQP_URL"] ?? "amqp://huitong:huitong@127.0.0.1:5673/huitong"
    }
    static var databaseURL: String {
        ProcessInfo.processInfo.environment["HUITONG_DATABASE_URL"] ?? PostgresConfiguration.defaultURL
    }
    static let logger = Logger(label: "huitong.gateway.tests", factory: { _ in SwiftLogNoOpLogHandler() })

    /// The repository root (for contracts/ and deploy/local/servers.sh).
    static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
    }

    static let keyring: SM4.Keyring = {
        // A fixed test master key; production keys come from huitong.gateway.master-key.
        try! SM4.Keyring(current: SM4.SealingKey(masterKey: SymmetricKey(data: [UInt8](repeating: 0x42, count: 32)), version: 1))
    }()

    static func unique(_ label: String) -> String {
        "t-\(label)-\(UUID().uuidString.prefix(8).lowercased())"
    }

    static func amqp(_ name: String) throws -> AMQPConfiguration {
        try AMQPConfiguration(url: amqpURL, connectionName: name)
    }

    /// A pool on the test database with every migration of the binary applied (idempotent).
    static func pool() async throws -> PostgresPool {
        var configuration = try PostgresConfiguration(url: databaseURL)
        configuration.poolSize = 4
        configuration.applicationName = "huitong-gateway-tests"
        let pool = PostgresPool(configuration: configuration, logger: logger)
        _ = try await Migrator(migrations: HubMigrate.migrations, logger: logger).migrate(on: pool)
        return pool
    }

    static let validator: ContractValidator = {
        try! ContractValidator(contractsDirectory: repositoryRoot.appendingPathComponent("contracts"))
    }()

    /// A `hub.heartbeat.ping.v1` envelope (empty payload; its contract is stable), optionally for an enterprise.
    static func ping(enterprise: String? = nil, partner: String? = nil, type: String = "hub.heartbeat.ping.v1") throws -> Envelope {
        let messageType = try MessageType(type)
        return try Envelope(
            source: "/partners/test", type: messageType, dataSchema: ContractValidator.schemaID(for: messageType),
            data: JSONObject(), enterpriseID: try enterprise.map { try USCC($0) },
            partnerID: try partner.map { try PartnerID($0) })
    }

    /// Runs `rabbitmqctl` through deploy/local/servers.sh.
    static var rabbitmqctlCommand: String { repositoryRoot.appendingPathComponent("deploy/local/servers.sh").path + " rabbitmqctl" }
}

/// A test queue on the broker bound to some routing keys; collects deliveries in the background.
final class TapQueue: Sendable {
    let name: String
    private let received = Mutex<[Delivery]>([])
    private let task: Mutex<Task<Void, Never>?> = Mutex(nil)

    private init(name: String) { self.name = name }

    /// Declares a classic queue bound to (exchange, pattern) pairs and starts consuming it.
    static func start(_ label: String, bindings: [(String, String)]) async throws -> TapQueue {
        let tap = TapQueue(name: "test.gw.\(label).\(UUID().uuidString.prefix(8).lowercased())")
        let topology = Topology(
            exchanges: Topology.hubExchanges,
            queues: [Topology.Queue(name: tap.name, kind: .classic)],
            bindings: bindings.map { Topology.Binding(queue: tap.name, exchange: $0.0, routingKey: $0.1) })
        let connection = try await AMQPConnection.connect(configuration: GatewaySupport.amqp("\(tap.name) declare"), logger: GatewaySupport.logger)
        try await connection.declare(topology)
        await connection.close()
        let consumer = AMQPConsumer(configuration: try GatewaySupport.amqp(tap.name), logger: GatewaySupport.logger)
        let deliveries = consumer.consume(queue: tap.name, prefetch: 256)
        tap.task.withLock {
            $0 = Task {
                do {
                    for try await delivery in deliveries {
                        tap.received.withLock { $0.append(delivery) }
                        try? await delivery.ack()
                    }
                } catch {}
            }
        }
        return tap
    }

    /// Consumes an existing queue (declared by someone else) without deleting it afterwards... unless `stop` is called.
    static func attach(queue: String) -> TapQueue {
        let tap = TapQueue(name: queue)
        let consumer = AMQPConsumer(configuration: try! GatewaySupport.amqp("\(queue) tap"), logger: GatewaySupport.logger)
        let deliveries = consumer.consume(queue: queue, prefetch: 256)
        tap.task.withLock {
            $0 = Task {
                do {
                    for try await delivery in deliveries {
                        tap.received.withLock { $0.append(delivery) }
                        try? await delivery.ack()
                    }
                } catch {}
            }
        }
        return tap
    }

    /// Waits up to `timeout` for deliveries matching `predicate`.
    func wait(count: Int = 1, timeout: Duration = .seconds(10), where predicate: @escaping (Delivery) -> Bool) async -> [Delivery] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let matching = received.withLock { $0.filter(predicate) }
            if matching.count >= count { return matching }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return received.withLock { $0.filter(predicate) }
    }

    /// Stops consuming and deletes the queue.
    func stop() async {
        task.withLock { $0?.cancel() }
        if let connection = try? await AMQPConnection.connect(configuration: GatewaySupport.amqp("\(name) delete"), logger: GatewaySupport.logger) {
            _ = try? await connection.deleteQueue(name)
            await connection.close()
        }
    }
}

extension Delivery {
    /// The delivered envelope, if it decodes.
    var envelope: Envelope? { try? Envelope.decode(bytes: body) }
}

/// An in-memory stand-in for the audit sink's query library, for the gateway's read endpoints in tests only.
/// (The integrator backs `FlowQuerying` with the audit library; this is not a second audit store.)
struct TestFlowQuerying: FlowQuerying {
    let records: [FlowRecord]
    /// Every (reader, unmasked) the gateway passed, in order.
    let calls = CallLog()

    final class CallLog: Sendable {
        private let entries = Mutex<[(reader: String, unmasked: Bool)]>([])
        func append(_ reader: String, _ unmasked: Bool) { entries.withLock { $0.append((reader, unmasked)) } }
        var all: [(reader: String, unmasked: Bool)] { entries.withLock { $0 } }
    }

    func messages(correlationId: UUID, limit: Int, cursor: String?, unmasked: Bool, reader: String) async throws -> FlowPage {
        calls.append(reader, unmasked)
        let id = correlationId.uuidString.lowercased()
        let all = records.filter { $0.correlationID == id || $0.id == id }
        let start = cursor.flatMap(Int.init) ?? 0
        let page = Array(all.dropFirst(start).prefix(limit))
        return FlowPage(records: page, nextCursor: start + page.count < all.count ? String(start + page.count) : nil)
    }

    func message(id: MessageID, unmasked: Bool, reader: String) async throws -> FlowRecord? {
        calls.append(reader, unmasked)
        return records.first { $0.id == id.description }
    }

    func search(_ query: FlowSearch, unmasked: Bool, reader: String) async throws -> FlowPage {
        calls.append(reader, unmasked)
        let matching = records.filter { record in
            (query.enterpriseID == nil || record.enterpriseID == query.enterpriseID)
                && (query.type == nil || record.type == query.type)
        }.map { record -> FlowRecord in
            var record = record
            if !unmasked { record.envelope = .string("masked") }
            return record
        }
        return FlowPage(records: Array(matching.prefix(query.limit)))
    }
}

/// The gateway on an in-process Hummingbird server on a free port, with the real broker and database.
struct GatewayHarness {
    let store: PartnerStore
    let pool: PostgresPool
    let configuration: GatewayConfiguration
    let client: any TestClientProtocol
    /// The client-provided name of the harness publisher's broker connection (unique per run).
    let publisherName: String

    static func run(
        configuration: GatewayConfiguration = .testDefault,
        publisherURL: String? = nil,
        querying: any FlowQuerying = TestFlowQuerying(records: []),
        _ body: @Sendable (GatewayHarness) async throws -> Void
    ) async throws {
        let pool = try await GatewaySupport.pool()
        let store = PartnerStore(pool: pool, keyring: GatewaySupport.keyring)
        let publisherName = GatewaySupport.unique("publisher")
        let amqp = try AMQPConfiguration(url: publisherURL ?? GatewaySupport.amqpURL, connectionName: publisherName)
        let publisher = AMQPPublisher(configuration: amqp, topology: Topology(exchanges: Topology.hubExchanges), logger: GatewaySupport.logger)
        let recorder = RefusalRecorder(publisher: publisher, interval: .milliseconds(100), logger: GatewaySupport.logger)
        let directory = PartnerDirectory(base: store, ttl: configuration.partnerCacheTTL)
        let routes = GatewayRoutes(
            configuration: configuration,
            authenticator: Authenticator(directory: directory, skew: configuration.timestampSkew),
            limiter: RateLimiter(rate: configuration.rate, burst: configuration.burst),
            validator: GatewaySupport.validator, publisher: publisher, recorder: recorder, querying: querying,
            logger: GatewaySupport.logger)
        let router = Router()
        routes.register(on: router)
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            services: [recorder], logger: GatewaySupport.logger)
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await publisher.run() }
                try await app.test(.live) { client in
                    try await body(GatewayHarness(
                        store: store, pool: pool, configuration: configuration, client: client, publisherName: publisherName))
                }
                group.cancelAll()
            }
        } catch {
            await publisher.close()
            await pool.close()
            throw error
        }
        await publisher.close()
        await pool.close()
    }

    /// Registers an HMAC partner and returns its signer.
    func hmacPartner(_ label: String, grants: Partner.Grants) async throws -> RequestSigner {
        let id = GatewaySupport.unique(label)
        let secret = (0..<32).map { _ in UInt8.random(in: 0...255) }
        try await store.add(id: try PartnerID(id), name: id, grants: grants, credential: .hmacSM3(secret: secret))
        return RequestSigner(partner: id, key: .hmacSM3(SymmetricKey(data: secret)))
    }

    /// Sends a request signed by `signer` (or unsigned), optionally altering what was signed.
    func send(
        _ method: HTTPRequest.Method, _ target: String, body: [UInt8] = [], signer: RequestSigner?,
        signedBody: [UInt8]? = nil, time: Date = Date(), nonce: String = RequestSigner.makeNonce(),
        extraHeaders: [(String, String)] = [("Content-Type", "application/cloudevents+json")]
    ) async throws -> TestResponse {
        var headers = HTTPFields()
        for (name, value) in extraHeaders where !(method == .get && name == "Content-Type") {
            headers[HTTPField.Name(name)!] = value
        }
        if let signer {
            for (name, value) in try signer.headers(
                method: method.rawValue, target: target, body: signedBody ?? body, time: time, nonce: nonce)
            {
                headers[HTTPField.Name(name)!] = value
            }
        }
        return try await client.executeRequest(
            uri: target, method: method, headers: headers, body: body.isEmpty ? nil : ByteBuffer(bytes: body))
    }
}

extension GatewayConfiguration {
    /// Test defaults: no partner cache (a revoke is seen at once), generous rate, short publish timeout.
    static var testDefault: GatewayConfiguration {
        var configuration = GatewayConfiguration()
        configuration.partnerCacheTTL = .zero
        configuration.rate = 1_000
        configuration.burst = 1_000
        configuration.publishTimeout = .seconds(3)
        configuration.retryAfterSeconds = 7
        return configuration
    }
}

extension TestResponse {
    /// The body as JSON.
    var json: JSONValue? { try? JSONValue.parse(Array(body.readableBytesView)) }
}

/// What a finished program printed.
struct ProcessOutput: Sendable {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs a program to completion without pipes and without blocking a thread of the cooperative pool (whose 2
/// threads the gateway under test, the database pool and the broker connections all need): ``Command``.
func runProcess(
    _ executable: String, _ arguments: [String], environment: [String: String]? = nil, directory: URL? = nil
) async throws -> ProcessOutput {
    let result = try await Command.run(executable, arguments, environment: environment, directory: directory?.path)
    return ProcessOutput(status: result.status, stdout: result.stdout, stderr: result.stderr)
}
