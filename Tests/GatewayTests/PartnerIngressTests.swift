import Configuration
import Foundation
import Gateway
import HubAMQP
import HubApp
import HubCore
import HubCrypto
import HubStore
import Testing

/// Direct AMQP partners against the real broker: a RabbitMQ user made by `huitong partners add --amqp`'s code path,
/// topic permissions, and the gateway's ingress consumer (verify, republish with confirm, or park with the reason).
@Suite("Gateway AMQP partners", .serialized)
struct PartnerIngressTests {
    static let enterprise = "91320500MA1Q7H2K3A"  // REFERENCE.md vector 1

    /// The configuration the CLI would read: the test broker/database, the test master key, local rabbitmqctl.
    static func hubConfiguration() throws -> HubConfiguration {
        let values: [AbsoluteConfigKey: ConfigValue] = [
            AbsoluteConfigKey(["huitong", "gateway", "master-key"]): .init(.string(String(repeating: "42", count: 32)), isSecret: true),
            AbsoluteConfigKey(["huitong", "gateway", "rabbitmqctl"]): .init(.string(GatewaySupport.rabbitmqctlCommand), isSecret: false),
            AbsoluteConfigKey(["huitong", "amqp", "url"]): .init(.string(GatewaySupport.amqpURL), isSecret: true),
            AbsoluteConfigKey(["huitong", "database", "url"]): .init(.string(GatewaySupport.databaseURL), isSecret: true),
        ]
        return try HubConfiguration(reader: ConfigReader(providers: [InMemoryProvider(name: "test", values: values)]))
    }

    static func value(after prefix: String, in lines: [String]) -> String? {
        lines.first { $0.contains(prefix) }.map { String($0[$0.range(of: prefix)!.upperBound...]).trimmingCharacters(in: .whitespaces) }
    }

    static func signedMessage(
        _ envelope: Envelope, routingKey: String, signer: RequestSigner?, exchange: String = "partner.in"
    ) throws -> AMQPMessage {
        var message = AMQPMessage(envelope: envelope, exchange: exchange, routingKey: routingKey, mandatory: true)
        if let signer {
            for (name, value) in try signer.headers(
                method: "PUBLISH", target: "/\(exchange)/\(routingKey)", body: message.body)
            {
                message.properties.headers[name.lowercased()] = .string(value)
            }
        }
        return message
    }

    @Test("a partner's own RabbitMQ user: signed in-scope messages reach hub.commands with partnerid; others are refused or parked with the reason")
    func directPartner() async throws {
        let configuration = try Self.hubConfiguration()
        let partner = GatewaySupport.unique("amqp")
        let lines = try await GatewayPartners.add(
            GatewayPartners.NewPartner(
                id: partner, name: partner, types: ["hub.heartbeat.ping.v1"], enterprises: [Self.enterprise],
                roles: ["partner"], auditUnmask: false, sm2PublicKeyFile: nil, amqp: true),
            configuration: configuration, logger: GatewaySupport.logger)
        let secretHex = try #require(Self.value(after: "over a secure channel):", in: lines))
        let password = try #require(Self.value(after: "amqp password (shown once):", in: lines))
        let secret = try #require(secretHex.count == 64 ? secretHex : nil)
        let signer = RequestSigner(
            partner: partner, key: .hmacSM3(SymmetricKey(data: stride(from: 0, to: 64, by: 2).map {
                UInt8(secret[secret.index(secret.startIndex, offsetBy: $0)..<secret.index(secret.startIndex, offsetBy: $0 + 2)], radix: 16)!
            })))

        var gateway = GatewayConfiguration.testDefault
        gateway.ingressQueue = "test.gw.ingress.\(UUID().uuidString.prefix(8).lowercased())"
        gateway.ingressBinding = "\(partner).#"
        let admin = try await AMQPConnection.connect(configuration: GatewaySupport.amqp("\(gateway.ingressQueue) admin"), logger: GatewaySupport.logger)
        try await admin.declare(PartnerIngress.topology(gateway))
        let commands = try await TapQueue.start("ingress-out", bindings: [("hub.commands", "hub.heartbeat.ping")])
        let parked = TapQueue.attach(queue: "\(gateway.ingressQueue).parked")

        let pool = try await GatewaySupport.pool()
        let store = PartnerStore(pool: pool, keyring: GatewaySupport.keyring)
        let publisher = AMQPPublisher(configuration: try GatewaySupport.amqp(GatewaySupport.unique("ingress-pub")), logger: GatewaySupport.logger)
        let recorder = RefusalRecorder(publisher: publisher, logger: GatewaySupport.logger)
        let ingress = PartnerIngress(
            configuration: gateway, amqp: try GatewaySupport.amqp("ingress"), directory: PartnerDirectory(base: store, ttl: .zero),
            validator: GatewaySupport.validator, publisher: publisher, recorder: recorder, logger: GatewaySupport.logger)
        let ingressTask = Task { try await ingress.run() }

        let vhost = try AMQPConfiguration(url: GatewaySupport.amqpURL).vhost
        let partnerURL = "amqp://partner-\(partner):\(password)@127.0.0.1:\(try AMQPConfiguration(url: GatewaySupport.amqpURL).port)/\(vhost)"
        let partnerPublisher = AMQPPublisher(configuration: try AMQPConfiguration(url: partnerURL, connectionName: "\(partner) client"), logger: GatewaySupport.logger)

        do {
            // In scope and signed: forwarded to hub.commands, partnerid stamped.
            let good = try GatewaySupport.ping(enterprise: Self.enterprise)
            try await partnerPublisher.publish(try Self.signedMessage(good, routingKey: "\(partner).hub.heartbeat.ping", signer: signer))
            let forwarded = await commands.wait { $0.properties.messageID == good.id.description }
            #expect(forwarded.first?.envelope?.partnerID?.value == partner)
            #expect(forwarded.first?.exchange == "hub.commands")

            // Another partner's routing key: the broker's topic permission refuses the publish.
            await #expect(throws: (any Error).self) {
                try await partnerPublisher.publish(
                    try Self.signedMessage(try GatewaySupport.ping(), routingKey: "someone-else.hub.heartbeat.ping", signer: signer))
            }
            // Another exchange entirely (hub.commands directly): refused by the vhost permission.
            await #expect(throws: (any Error).self) {
                try await partnerPublisher.publish(
                    try Self.signedMessage(try GatewaySupport.ping(), routingKey: "hub.heartbeat.ping", signer: signer, exchange: "hub.commands"))
            }

            // Unsigned, forged, and out-of-scope (enterprise not granted) messages are parked with the reason.
            let unsigned = try GatewaySupport.ping(enterprise: Self.enterprise)
            let forged = try GatewaySupport.ping(enterprise: Self.enterprise)
            let outOfScope = try GatewaySupport.ping(enterprise: "92320583MA20KX4F81")
            let forger = RequestSigner(partner: partner, key: .hmacSM3(SymmetricKey(data: [UInt8](repeating: 5, count: 32))))
            let key = "\(partner).hub.heartbeat.ping"
            try await partnerPublisher.publish(try Self.signedMessage(unsigned, routingKey: key, signer: nil))
            try await partnerPublisher.publish(try Self.signedMessage(forged, routingKey: key, signer: forger))
            try await partnerPublisher.publish(try Self.signedMessage(outOfScope, routingKey: key, signer: signer))
            let expected = [
                unsigned.id.description: "signature-missing", forged.id.description: "signature-invalid",
                outOfScope.id.description: "out-of-scope",
            ]
            let parkedMessages = await parked.wait(count: 3) { expected[$0.properties.messageID ?? ""] != nil }
            #expect(parkedMessages.count == 3)
            for delivery in parkedMessages {
                let id = delivery.properties.messageID ?? ""
                #expect(delivery.headers["x-huitong-error-code"]?.stringValue == expected[id], "\(id)")
                #expect(delivery.headers["x-huitong-reason"]?.stringValue == "permanentFailure")
                #expect(delivery.headers["x-huitong-original-exchange"]?.stringValue == "partner.in")
            }
            // None of them reached hub.commands.
            let leaked = await commands.wait(timeout: .milliseconds(500)) { expected[$0.properties.messageID ?? ""] != nil }
            #expect(leaked.isEmpty)
        } catch {
            Issue.record("\(error)")
        }

        await partnerPublisher.close()
        ingressTask.cancel()
        _ = try? await ingressTask.value
        await publisher.close()
        await commands.stop()
        await parked.stop()
        _ = try? await admin.deleteQueue(gateway.ingressQueue)
        await admin.close()
        _ = try? await GatewayPartners.revoke(id: partner, configuration: configuration, logger: GatewaySupport.logger)
        await pool.close()
    }
}
