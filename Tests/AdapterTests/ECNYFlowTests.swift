import AdapterSimulation
import AsyncHTTPClient
import Foundation
import HubCore
import HubCrypto
import HubRuntime
import HubStore
import Hummingbird
@testable import ECNYAdapter
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Testing

/// The e-CNY adapter in the runtime with the operator simulator in-process: signed requests, signed callbacks to
/// the adapter's route, faults on. Serialized: the worker claims any due row of `ecny.transfers`.
@Suite("e-CNY adapter flows (SM2-signed JSON, settlement callbacks) with the operator simulator", .serialized)
struct ECNYFlowTests {
    struct World: Sendable {
        var harness: FlowHarness
        var simulator: ECNYOperatorSimulator
        var callbackURL: String
        var configuration: ECNYConfiguration
        var operatorKey: SM2.PrivateKey
    }

    func world<R: Sendable>(
        _ label: String, faults: SimulatorFaults = SimulatorFaults(), timeout: Duration = .seconds(2),
        _ body: (World) async throws -> R
    ) async throws -> R {
        try await FlowHarness.with(label: label, observe: ["ecny.#"]) { harness in
            let hubKey = try SM2.PrivateKey()
            let operatorKey = try SM2.PrivateKey()
            var configuration = ECNYConfiguration(hubKey: hubKey, operatorKey: operatorKey.publicKey)
            configuration.signerID = try SM2.SignerID("huitong-hub")
            configuration.operatorSignerID = try SM2.SignerID("ecny-operator")
            configuration.timeout = timeout
            configuration.settlementQueryDelay = .seconds(2)
            configuration.retryBaseDelay = .milliseconds(200)
            configuration.retryMaxDelay = .seconds(1)
            configuration.pollInterval = .milliseconds(50)
            let callbacks = ECNYCallbacks(pool: harness.pool, configuration: configuration, logger: FlowHarness.logger)
            let (callbackApp, callbackPort) = try await FlowHarness.portOf { onRunning in
                let router = Router()
                callbacks.addRoutes(to: router)
                return Application(
                    router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                    onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? 0) }, logger: FlowHarness.logger)
            }
            return try await harness.running([callbackApp]) {
                let callbackURL = "http://127.0.0.1:\(await callbackPort())\(ECNYProtocol.callbackPath)"
                var settings = ECNYOperatorSimulator.Configuration(operatorKey: operatorKey, hubKey: hubKey.publicKey)
                settings.operatorSignerID = configuration.operatorSignerID
                settings.hubSignerID = configuration.signerID
                settings.callbackURL = callbackURL
                settings.faults = faults
                settings.seed = 7
                let simulator = ECNYOperatorSimulator(configuration: settings)
                let (operatorApp, operatorPort) = try await FlowHarness.portOf { onRunning in
                    simulator.application(port: 0, logger: FlowHarness.logger, onRunning: onRunning)
                }
                return try await harness.running([operatorApp, ECNYCallbackService(simulator: simulator)]) {
                    var adapter = configuration
                    adapter.url = "http://127.0.0.1:\(await operatorPort())"
                    let worker = ECNYWorker(pool: harness.pool, configuration: adapter, logger: FlowHarness.logger)
                    return try await harness.running(harness.runtime(ECNYHandler(endpoint: adapter.url))) {
                        try await withThrowingTaskGroup(of: Void.self) { group in
                            group.addTask { try await worker.run() }
                            defer { group.cancelAll() }
                            return try await body(World(
                                harness: harness, simulator: simulator, callbackURL: callbackURL, configuration: adapter,
                                operatorKey: operatorKey))
                        }
                    }
                }
            }
        }
    }

    func types(_ harness: FlowHarness, _ id: String) async throws -> [String] {
        try await harness.emitted(id).map(\.type)
    }

    func waitFinal(_ harness: FlowHarness, _ ids: [String]) async throws {
        #expect(try await FlowHarness.eventually {
            for id in ids {
                let types = try await types(harness, id)
                if !types.contains("ecny.transfer.settled.v1") && !types.contains("ecny.transfer.rejected.v1") { return false }
            }
            return true
        })
    }

    func cleanUp(_ harness: FlowHarness, _ ids: [String]) async {
        for id in ids {
            guard let uuid = UUID(uuidString: id) else { continue }
            _ = try? await harness.pool.query("DELETE FROM ecny.callbacks WHERE transfer_id = \(uuid)")
            _ = try? await harness.pool.query("DELETE FROM ecny.transfers WHERE transfer_id = \(uuid)")
        }
    }

    @Test("Signed request → ACCEPTED → signed callback → exactly one settled event, despite duplicate and out-of-order callbacks")
    func settlesOnce() async throws {
        try await world("settle") { world in
            let harness = world.harness
            // Wallet rules (last digit): 0 normal, 3 duplicate callbacks, 7 SETTLED then a stale PROCESSING.
            let commands = try ["2000000000001000", "2000000000001003", "2000000000001007"].map { try Commands.ecnySubmit(wallet: $0) }
            try await harness.publish(commands)
            let ids = commands.map { $0.data["transferId"]!.stringValue! }
            try await waitFinal(harness, ids)
            // Let the duplicate and stale callbacks be delivered (the operator counts 2xx answers), then check.
            #expect(try await FlowHarness.eventually { world.simulator.deliveredCallbacks(transferId: ids[1]) >= 3 })
            #expect(try await FlowHarness.eventually { world.simulator.deliveredCallbacks(transferId: ids[2]) >= 2 })
            for id in ids {
                let types = try await types(harness, id)
                #expect(types.filter { $0 == "ecny.transfer.settled.v1" }.count == 1, "\(id): \(types)")
                #expect(types.filter { $0 == "ecny.transfer.accepted.v1" }.count <= 1)
                #expect(!types.contains("ecny.transfer.rejected.v1"))
            }
            let settled = try #require(try await harness.emittedEnvelopes(ids[0]).first { $0.type.value == "ecny.transfer.settled.v1" })
            #expect(settled.data["operatorTransactionId"]?.stringValue?.hasPrefix("OPTX") == true)
            #expect(settled.causationID == commands[0].id.uuid)
            // The duplicate notification was recorded once; the re-notification and the stale one changed nothing.
            let callbacks = try await harness.pool.query(
                "SELECT count(*)::int8, count(*) FILTER (WHERE applied)::int8 FROM ecny.callbacks WHERE transfer_id = \(UUID(uuidString: ids[1])!)").rows[0]
            #expect(try callbacks.decode(Int64.self, at: 0) == 2)
            #expect(try callbacks.decode(Int64.self, at: 1) == 1)
            #expect(try await FlowHarness.eventually { harness.observed(ids[0], type: "ecny.transfer.settled.v1").count == 1 })
            await cleanUp(harness, ids)
        }
    }

    @Test("Vector 24 (R-ECNY-1): tier 3, balance 19,000: 1,000.00 settles, 1,000.01 is rejected AM14; closed, unknown and frozen wallets map to AC04, AC01, AC06")
    func rejections() async throws {
        try await world("reject") { world in
            let harness = world.harness
            let cases: [(wallet: String, amount: String, reason: String?)] = [
                ("3000000000190000", "1000.00", nil),
                ("3000000000190001", "1000.01", "AM14"),
                ("2000000000001004", "10.00", "AC04"),
                ("2000000000001005", "10.00", "AC01"),
                ("2000000000001006", "10.00", "AC06"),
            ]
            let commands = try cases.map { try Commands.ecnySubmit(wallet: $0.wallet, amount: $0.amount) }
            try await harness.publish(commands)
            let ids = commands.map { $0.data["transferId"]!.stringValue! }
            try await waitFinal(harness, ids)
            for (index, item) in cases.enumerated() {
                let events = try await harness.emittedEnvelopes(ids[index])
                if let reason = item.reason {
                    let rejected = events.first { $0.type.value == "ecny.transfer.rejected.v1" }
                    #expect(rejected?.data["reasonCode"]?.stringValue == reason, "case \(index)")
                    #expect(!events.contains { $0.type.value == "ecny.transfer.settled.v1" })
                } else {
                    #expect(events.contains { $0.type.value == "ecny.transfer.settled.v1" }, "case \(index)")
                }
            }
            await cleanUp(harness, ids)
        }
    }

    @Test("A request the operator never answers, and one answered 503, end settled once; the resend keeps the message id")
    func timeouts() async throws {
        try await world("timeout", faults: try SimulatorFaults(parsing: "hang=4s"), timeout: .seconds(1)) { world in
            let harness = world.harness
            let commands = try ["2000000000001008", "2000000000001009"].map { try Commands.ecnySubmit(wallet: $0) }
            try await harness.publish(commands)
            let ids = commands.map { $0.data["transferId"]!.stringValue! }
            try await waitFinal(harness, ids)
            for id in ids {
                let types = try await types(harness, id)
                #expect(types.filter { $0 == "ecny.transfer.settled.v1" }.count == 1, "\(types)")
                let messageId = ECNYProtocol.messageId(for: UUID(uuidString: id)!)
                #expect(world.simulator.record(messageId: messageId)?.transferId == id)
            }
            await cleanUp(harness, ids)
        }
    }

    @Test("Random faults from a seed (timeouts, 5xx, lost answers, rejections, duplicate and reordered callbacks): each transfer gets exactly one final outcome")
    func randomFaults() async throws {
        let faults = try SimulatorFaults(parsing: "timeout=0.15,hang=3s,5xx=0.15,lost=0.15,reject=0.2,duplicate=0.3,reorder=0.3,latency=5ms")
        try await world("faults", faults: faults, timeout: .seconds(1)) { world in
            let harness = world.harness
            let commands = try (0..<12).map { index in try Commands.ecnySubmit(wallet: "200000000000100\(index % 3)") }
            try await harness.publish(commands)
            let ids = commands.map { $0.data["transferId"]!.stringValue! }
            try await waitFinal(harness, ids)
            for id in ids {
                let types = try await types(harness, id)
                let finals = types.filter { $0 == "ecny.transfer.settled.v1" || $0 == "ecny.transfer.rejected.v1" }
                #expect(finals.count == 1, "\(id): \(types)")
                if let rejected = try await harness.emittedEnvelopes(id).first(where: { $0.type.value == "ecny.transfer.rejected.v1" }) {
                    #expect(["AC04", "AC06", "AM04"].contains(rejected.data["reasonCode"]?.stringValue ?? ""))
                }
            }
            await cleanUp(harness, ids)
        }
    }

    @Test("A callback with a forged signature, or a stale timestamp, is refused 401 and changes nothing")
    func forgedCallbacks() async throws {
        try await world("forged") { world in
            let harness = world.harness
            let command = try Commands.ecnySubmit(wallet: "2000000000001000")
            let id = command.data["transferId"]!.stringValue!
            try await harness.publish([command])
            try await waitFinal(harness, [id])
            let before = try await types(harness, id)
            let messageId = ECNYProtocol.messageId(for: UUID(uuidString: id)!)
            let forgedMessage = OperatorMessage(
                messageId: messageId, transferId: id, status: "FAILED", reasonCode: "WALLET_FROZEN", notificationId: "FORGED-\(id)")
            let forger = try SM2.PrivateKey()
            func post(_ body: [UInt8], signature: String) async throws -> UInt {
                var request = HTTPClientRequest(url: world.callbackURL)
                request.method = .POST
                request.headers.add(name: ECNYProtocol.signatureHeader, value: signature)
                request.body = .bytes(ByteBuffer(bytes: body))
                let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
                _ = try await response.body.collect(upTo: 1 << 16)
                return response.status.code
            }
            let forged = try ECNYProtocol.sign(forgedMessage.bytes, key: forger, signerID: world.configuration.operatorSignerID)
            #expect(try await post(forgedMessage.bytes, signature: forged) == 401)
            // A correctly signed callback whose timestamp is an hour old is a replay.
            var stale = forgedMessage
            stale.timestamp = ECNYProtocol.timestamp(Date().addingTimeInterval(-3600))
            stale.notificationId = "STALE-\(id)"
            let staleSignature = try ECNYProtocol.sign(stale.bytes, key: world.operatorKey, signerID: world.configuration.operatorSignerID)
            #expect(try await post(stale.bytes, signature: staleSignature) == 401)
            // The same operator signature under another signer ID (R-SEC-2) is not the operator's either.
            var other = forgedMessage
            other.notificationId = "FORGED-ID-\(id)"
            let wrongID = try ECNYProtocol.sign(other.bytes, key: world.operatorKey, signerID: .default)
            #expect(try await post(other.bytes, signature: wrongID) == 401)
            let count = try await harness.pool.query(
                "SELECT count(*)::int8 FROM ecny.callbacks WHERE notification_id LIKE 'FORGED-%' OR notification_id LIKE 'STALE-%'").rows[0]
            #expect(try count.decode(Int64.self, at: 0) == 0)
            #expect(try await types(harness, id) == before)
            // A status query of a settled transfer reports the settlement again; an unknown transfer is parked.
            let query = try Envelope(
                source: "urn:huitong:svc:payments", type: MessageType("ecny.transfer.status-query.v1"),
                dataSchema: "https://huitong.example.com/contracts/schemas/ecny/transfer-status-query.v1.schema.json",
                data: ["transferId": .string(id)], correlationID: command.correlationID, enterpriseID: Commands.enterprise)
            let unknown = try Envelope(
                source: "urn:huitong:svc:payments", type: MessageType("ecny.transfer.status-query.v1"),
                dataSchema: "https://huitong.example.com/contracts/schemas/ecny/transfer-status-query.v1.schema.json",
                data: ["transferId": .string(Commands.transferId())], enterpriseID: Commands.enterprise)
            try await harness.publish([query, unknown])
            #expect(try await FlowHarness.eventually {
                try await types(harness, id).filter { $0 == "ecny.transfer.settled.v1" }.count == 2
            })
            let repeated = try await harness.emittedEnvelopes(id).last
            #expect(repeated?.causationID == query.id.uuid)
            #expect(try await FlowHarness.eventually { try await harness.parked().contains { $0.code == "unknown-transfer" } })
            await cleanUp(harness, [id])
        }
    }
}
