import AuditSink
import Foundation
import Gateway
import HubAMQP
import HubApp
import HubCore
import HubCrypto
import HubStore
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import ServiceLifecycle
import Testing

/// The gateway's read endpoints wired to the audit library (`AuditFlowQuerying`), end to end on the real servers:
/// envelopes published on the hub exchanges → an audit sink (in-process, its own queue and chain) → the audit chain
/// → `GET /v1/messages/{id}`, `/v1/flows/{id}`, `/v1/audit`. Rule IDs: GW-READ-1 (404), GW-AUTHZ-4 (unmask grant),
/// R-SEC-3 (every read of the audit log is recorded: actor, action, object).
@Suite("Gateway reads over the audit chain", .serialized)
struct AuditReadTests {
    static let enterprise = "91320500MA1Q7H2K3A"  // REFERENCE.md vector 1 (valid, R-ID-2)
    /// This suite's own routing keys: its sink's queue takes nothing of other suites (and theirs nothing of it).
    static let pattern = "test.wire.#"
    static let account = "6222020200112233445"

    static let keyring: SM4.Keyring = {
        try! SM4.Keyring(current: SM4.SealingKey(masterKey: SymmetricKey(data: [UInt8](repeating: 0x5A, count: 32)), version: 1))
    }()

    /// `/data/account` of this suite's types is sealed, as the default list seals the payments parties.
    static let sensitive = SensitiveFields(rules: [SensitiveFields.Rule(typePattern: "test.wire.*", pointers: ["/data/account"])])

    /// Runs an audit sink on a unique queue bound to ``pattern`` and appending to `chain`, until `body` returns.
    static func withSink<T: Sendable>(chain: String, pool: PostgresPool, _ body: @Sendable () async throws -> T) async throws -> T {
        let logger = GatewaySupport.logger
        let consumer = AuditSinkService.consumer(queue: GatewaySupport.unique("wire-audit"), pattern: pattern)
        let sink = AuditSinkService(
            configuration: AuditSinkService.Configuration(
                consumer: consumer, chain: chain, batchSize: 16, maximumBatchWait: .milliseconds(20),
                checkpointInterval: nil, partitionsAhead: 1),
            store: AuditStore(pool: pool), intake: AuditIntake(sensitiveFields: sensitive, keyring: keyring),
            amqp: try GatewaySupport.amqp("wire-audit-sink"), signer: nil, logger: logger)
        // Declared before anything is published, so the sink misses nothing.
        let connection = try await AMQPConnection.connect(configuration: GatewaySupport.amqp("wire-audit-declare"), logger: logger)
        try await connection.declare(Topology.hub(consumers: [consumer]))
        await connection.close()
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: [sink], logger: logger))
        let running = Task { try await group.run() }
        func cleanUp() async {
            await group.triggerGracefulShutdown()
            _ = try? await running.value
            if let connection = try? await AMQPConnection.connect(
                configuration: GatewaySupport.amqp("wire-audit-cleanup"), logger: logger)
            {
                for name in [consumer.queue, consumer.parkingQueueName] { _ = try? await connection.deleteQueue(name) }
                await connection.close()
            }
        }
        do {
            let result = try await body()
            await cleanUp()
            return result
        } catch {
            await cleanUp()
            throw error
        }
    }

    /// How many message records of `correlation` the chain holds.
    static func stored(_ pool: PostgresPool, chain: String, correlation: String) async throws -> Int {
        let rows = try await pool.query(
            "SELECT count(*)::bigint AS n FROM audit.records WHERE chain = \(chain) AND correlation_id = \(correlation)"
        ).rows
        return Int(try rows.first?.decode(Int64.self, column: "n") ?? 0)
    }

    @Test("a flow published on the hub is read back through the audit chain: in order, masked unless audit:unmask, 404 for an unknown id, and each read is an access record (R-SEC-3)")
    func flowThroughTheAuditChain() async throws {
        let pool = try await GatewaySupport.pool()
        defer { Task { await pool.close() } }
        let chain = GatewaySupport.unique("wire")
        let querying = AuditFlowQuerying(reader: AuditReader(pool: pool, keyring: Self.keyring), chain: chain)
        // The unmasked read publishes gateway.audit.unmasked.v1 (mandatory): this queue makes it routable here.
        let unmaskedEvents = try await TapQueue.start("wire-unmasked", bindings: [("hub.events", "gateway.audit.unmasked")])
        defer { Task { await unmaskedEvents.stop() } }

        try await GatewayHarness.run(querying: querying) { gateway in
            let owner = try await gateway.hmacPartner("wire-owner", grants: Partner.Grants(messageTypes: ["*"], enterprises: ["*"]))
            let stranger = try await gateway.hmacPartner("wire-stranger", grants: Partner.Grants(messageTypes: ["*"], enterprises: ["*"]))
            let reviewer = try await gateway.hmacPartner("wire-reviewer", grants: Partner.Grants(roles: ["reviewer"]))
            let unmasker = try await gateway.hmacPartner(
                "wire-unmasker", grants: Partner.Grants(roles: ["reviewer"], auditUnmask: true))

            // One flow: the partner's command, then two events caused by it, on the hub's exchanges.
            let request = try Envelope(
                source: "/partners/wire", type: try MessageType("test.wire.request.v1"),
                dataSchema: "https://huitong.example/schemas/test.json",
                data: ["account": .string(Self.account), "amount": .object(["value": .string("1250.00"), "currency": .string("CNY")])],
                enterpriseID: try USCC(Self.enterprise), partnerID: try PartnerID(owner.partner))
            let correlation = request.id.uuid
            func event(_ verb: String) throws -> Envelope {
                try Envelope(
                    source: "urn:huitong:test", type: try MessageType("test.wire.\(verb).v1"),
                    dataSchema: "https://huitong.example/schemas/test.json", data: ["account": .string(Self.account)],
                    correlationID: correlation, causationID: request.id.uuid, enterpriseID: try USCC(Self.enterprise))
            }
            let accepted = try event("accepted")
            let settled = try event("settled")
            let flowID = request.id.description

            try await Self.withSink(chain: chain, pool: pool) {
                try await AMQPPublisher.withPublisher(
                    configuration: try GatewaySupport.amqp("wire-publisher"), topology: Topology(exchanges: Topology.hubExchanges),
                    logger: GatewaySupport.logger
                ) { publisher in
                    // One at a time, each confirmed: the chain order is the publishing order.
                    try await publisher.publish(AMQPMessage(envelope: request, exchange: Topology.ExchangeName.commands, mandatory: true))
                    try await publisher.publish(AMQPMessage(envelope: accepted, exchange: Topology.ExchangeName.events, mandatory: true))
                    try await publisher.publish(AMQPMessage(envelope: settled, exchange: Topology.ExchangeName.events, mandatory: true))
                }
                let deadline = ContinuousClock.now + .seconds(60)
                while try await Self.stored(pool, chain: chain, correlation: flowID) < 3, ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(100))
                }
            }
            #expect(try await Self.stored(pool, chain: chain, correlation: flowID) == 3)

            // GET /v1/flows: the flow in arrival order, attributes from the index and the body, the body masked.
            let flow = try await gateway.send(.get, "/v1/flows/\(flowID)", signer: owner)
            #expect(flow.status == .ok)
            let messages = try #require(flow.json?["messages"]?.arrayValue)
            #expect(messages.compactMap { $0["id"]?.stringValue } == [request.id, accepted.id, settled.id].map(\.description))
            #expect(messages.compactMap { $0["type"]?.stringValue } == ["test.wire.request.v1", "test.wire.accepted.v1", "test.wire.settled.v1"])
            #expect(messages.allSatisfy { $0["correlationid"]?.stringValue == flowID })
            #expect(messages.allSatisfy { $0["enterpriseid"]?.stringValue == Self.enterprise })
            #expect(messages[0]["partnerid"]?.stringValue == owner.partner)
            #expect(messages[0]["time"]?.stringValue == request.time.text)
            #expect(messages[1]["causationid"]?.stringValue == flowID)
            #expect(messages[0]["envelope"]?["id"]?.stringValue == flowID)
            #expect(messages[0]["envelope"]?["data"]?["amount"]?["value"]?.stringValue == "1250.00")
            #expect(messages.allSatisfy { $0["envelope"]?["data"]?["account"]?.stringValue == "***************3445" })
            // Paging through the audit cursor.
            let firstPage = try await gateway.send(.get, "/v1/flows/\(flowID)?limit=2", signer: owner)
            #expect(firstPage.json?["messages"]?.arrayValue?.count == 2)
            let cursor = try #require(firstPage.json?["nextCursor"]?.stringValue)
            let secondPage = try await gateway.send(.get, "/v1/flows/\(flowID)?limit=2&cursor=\(cursor)", signer: owner)
            #expect(secondPage.json?["messages"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == [settled.id.description])
            #expect(secondPage.json?["nextCursor"] == nil)
            // A cursor the audit library did not issue is the caller's error (GW-READ-3), not an outage.
            let foreignCursor = try await gateway.send(.get, "/v1/flows/\(flowID)?cursor=not-a-cursor", signer: owner)
            #expect(foreignCursor.status == .unprocessableContent)
            #expect(foreignCursor.json?["pointer"]?.stringValue == "/cursor")
            // Another partner does not see the flow (GW-READ-1).
            #expect(try await gateway.send(.get, "/v1/flows/\(flowID)", signer: stranger).status == .notFound)

            // GET /v1/messages/{id}: found by its message id; its status is the verb of the flow's latest event.
            let status = try await gateway.send(.get, "/v1/messages/\(flowID)", signer: owner)
            #expect(status.status == .ok)
            #expect(status.json?["type"]?.stringValue == "test.wire.request.v1")
            #expect(status.json?["status"]?.stringValue == "settled")
            #expect(status.json?["events"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == [accepted.id, settled.id].map(\.description))
            let byEvent = try await gateway.send(.get, "/v1/messages/\(accepted.id)", signer: reviewer)
            #expect(byEvent.status == .ok)
            #expect(byEvent.json?["type"]?.stringValue == "test.wire.accepted.v1")
            // An unknown message id is 404 (GW-READ-1), not an error.
            let unknown = MessageID.generate()
            let missing = try await gateway.send(.get, "/v1/messages/\(unknown)", signer: owner)
            #expect(missing.status == .notFound)
            #expect(missing.json?["rule"]?.stringValue == "GW-READ-1")

            // GET /v1/audit: masked for a reviewer; in clear only for the audit:unmask holder (GW-AUTHZ-4).
            let masked = try await gateway.send(.get, "/v1/audit?correlationId=\(flowID)", signer: reviewer)
            #expect(masked.status == .ok)
            #expect(masked.json?["messages"]?.arrayValue?.count == 3)
            #expect(masked.json?["messages"]?.arrayValue?.allSatisfy {
                $0["envelope"]?["data"]?["account"]?.stringValue == "***************3445"
            } == true)
            let byPartner = try await gateway.send(.get, "/v1/audit?correlationId=\(flowID)&partnerId=\(owner.partner)", signer: reviewer)
            #expect(byPartner.json?["messages"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == [flowID])
            let unmasked = try await gateway.send(.get, "/v1/audit?correlationId=\(flowID)&unmask=true", signer: unmasker)
            #expect(unmasked.status == .ok)
            #expect(unmasked.json?["messages"]?.arrayValue?.count == 3)
            #expect(unmasked.json?["messages"]?.arrayValue?.allSatisfy {
                $0["envelope"]?["data"]?["account"]?.stringValue == Self.account
            } == true)
            #expect(try await gateway.send(.get, "/v1/audit?correlationId=\(flowID)&unmask=true", signer: reviewer).status == .forbidden)

            // Every read is an access record of the chain, naming the partner, whether unmasked, and the criteria.
            let log = try await AuditReader(pool: pool, keyring: Self.keyring).query(
                AuditQuery(chain: chain, limit: 1000), as: AuditReader.Reader(name: "wire-test-verifier"))
            let access = log.records.filter { $0.record.kind == .access }.compactMap(\.body)
            func reads(by partner: String) -> [JSONValue] { access.filter { $0["reader"]?.stringValue == partner } }
            #expect(reads(by: owner.partner).contains {
                $0["criteria"]?["messageId"]?.stringValue == unknown.description && $0["returned"] == .number(JSONNumber(0))
            })
            #expect(reads(by: owner.partner).contains {
                $0["criteria"]?["messageId"]?.stringValue == flowID && $0["unmask"] == .bool(false)
            })
            #expect(reads(by: owner.partner).contains { $0["criteria"]?["correlationId"]?.stringValue == flowID })
            #expect(!reads(by: reviewer.partner).isEmpty)
            #expect(reads(by: reviewer.partner).allSatisfy { $0["unmask"] == .bool(false) })
            #expect(reads(by: unmasker.partner).contains {
                $0["unmask"] == .bool(true) && $0["criteria"]?["correlationId"]?.stringValue == flowID
                    && $0["returned"] == .number(JSONNumber(3))
            })
            // The unmasked read is also announced on the audit stream by the gateway (GW-READ-4).
            #expect(await !unmaskedEvents.wait { $0.envelope?.data["partnerId"]?.stringValue == unmasker.partner }.isEmpty)
        }
    }

    @Test("AuditQuery takes messageId from HTTP parameters and still refuses unknown ones")
    func messageIDParameter() throws {
        let id = MessageID.generate().description
        let query = try AuditQuery(parameters: ["messageId": id], chain: "c")
        #expect(query.messageID == id)
        #expect(throws: AuditError.self) { try AuditQuery(parameters: ["messageID": id], chain: "c") }
    }
}
