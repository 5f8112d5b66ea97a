import Foundation
public import HubAMQP
public import HubCore
import HubRuntime
public import Logging
import Metrics
public import ServiceLifecycle

/// Direct AMQP partners: consumes `gw.partner-in` (bound to the `partner.in` topic exchange), verifies each message's
/// signature headers and scope, and republishes it to `hub.commands` with a confirm before acking; a message that
/// fails is parked (`hub.dead`, routing key `gw.partner-in`, reason `permanentFailure`, the error code saying why)
/// and recorded as a refusal. Nothing is acked before its republish or park was confirmed.
///
/// Message headers (AMQP field table, strings): `x-huitong-partner`, `x-huitong-timestamp`, `x-huitong-nonce`,
/// `x-huitong-signature`; the canonical request is `PUBLISH` and `/partner.in/<routing key>` over the body. The
/// routing key is `<partnerId>.<type without version>` (the broker's topic permissions already restrict each
/// partner's user to its own prefix and granted types; the gateway checks again).
public struct PartnerIngress: Service {
    /// Park error codes.
    public enum Code {
        /// No (or malformed) signature headers.
        public static let signatureMissing = "signature-missing"
        /// Unknown partner.
        public static let partnerUnknown = "partner-unknown"
        /// Revoked partner.
        public static let partnerRevoked = "partner-revoked"
        /// The signature does not verify (forged or altered).
        public static let signatureInvalid = "signature-invalid"
        /// The routing key, type or enterprise is outside the partner's grants.
        public static let outOfScope = "out-of-scope"
        /// The envelope or payload breaks its contract.
        public static let contractViolation = "contract-violation"
    }

    let configuration: GatewayConfiguration
    let amqp: AMQPConfiguration
    let directory: any PartnerLookup
    let validator: ContractValidator
    let publisher: any EnvelopePublishing
    let recorder: RefusalRecorder
    let logger: Logger

    /// Creates the ingress.
    /// - Parameters:
    ///   - configuration: The gateway settings (exchange and queue names).
    ///   - amqp: The broker (the ingress opens its own consumer connection).
    ///   - directory: Partner look-up.
    ///   - validator: Contract validation.
    ///   - publisher: The confirmed publisher (republish and park).
    ///   - recorder: Refusal events.
    ///   - logger: The logger.
    public init(
        configuration: GatewayConfiguration, amqp: AMQPConfiguration, directory: any PartnerLookup,
        validator: ContractValidator, publisher: any EnvelopePublishing, recorder: RefusalRecorder, logger: Logger
    ) {
        self.configuration = configuration
        var amqp = amqp
        amqp.connectionName = "huitong gateway \(configuration.ingressQueue)"
        self.amqp = amqp
        self.directory = directory
        self.validator = validator
        self.publisher = publisher
        self.recorder = recorder
        var logger = logger
        logger[metadataKey: "amqp.queue"] = "\(configuration.ingressQueue)"
        self.logger = logger
    }

    /// The ingress queue as a hub consumer (no retry tiers: a message either passes now or is parked).
    /// - Parameter configuration: The settings.
    /// - Returns: The consumer.
    public static func consumer(_ configuration: GatewayConfiguration) -> Topology.Consumer {
        Topology.Consumer(
            queue: configuration.ingressQueue, bindings: [(configuration.ingressExchange, configuration.ingressBinding)],
            retryDelaysMilliseconds: [])
    }

    /// The ingress topology: the `partner.in` topic exchange, the queue, its parking queue, the hub exchanges.
    /// - Parameter configuration: The settings.
    /// - Returns: The topology.
    public static func topology(_ configuration: GatewayConfiguration) -> Topology {
        var topology = Topology.hub(consumers: [consumer(configuration)])
        topology.exchanges.insert(Topology.Exchange(name: configuration.ingressExchange, kind: .topic), at: 0)
        return topology
    }

    /// Consumes until graceful shutdown.
    /// - Throws: `AMQPError` when the queue cannot be consumed at all.
    public func run() async throws {
        let consumer = AMQPConsumer(configuration: amqp, topology: Self.topology(configuration), logger: logger)
        let deliveries = consumer.consume(queue: configuration.ingressQueue, prefetch: 16)
        try await withGracefulShutdownHandler {
            for try await delivery in deliveries {
                await handle(delivery)
            }
        } onGracefulShutdown: {
            Task { await deliveries.stop() }
        }
    }

    struct Rejection: Error {
        var code: String
        var rule: String
        var detail: String
        var partner: String?
        var authenticated: Bool
        var messageID: String?
        var messageType: String?
        var correlationID: UUID?
    }

    /// Handles one delivery: republish (then ack) or park (then ack); a failed publish nacks with requeue.
    /// - Parameter delivery: The delivery.
    func handle(_ delivery: Delivery) async {
        let outcome: Result<AMQPMessage, Rejection>
        do {
            outcome = .success(try await admit(delivery))
        } catch let rejection as Rejection {
            outcome = .failure(rejection)
        } catch {
            // The partner store is unavailable: not the partner's fault; try again later.
            logger.info("partner message not checked; requeued", metadata: ["error.type": "\(type(of: error))"])
            try? await Task.sleep(for: .seconds(1))
            try? await delivery.nack(requeue: true)
            return
        }
        let message: AMQPMessage
        switch outcome {
        case .success(let republish):
            message = republish
        case .failure(let rejection):
            message = park(delivery, rejection)
            recorder.record(
                Refusal(
                    partner: rejection.partner, authenticated: rejection.authenticated, status: 0, reason: rejection.code,
                    rule: rejection.rule, method: "PUBLISH",
                    path: "/\(configuration.ingressExchange)/\(delivery.routingKey)", messageID: rejection.messageID,
                    messageType: rejection.messageType, correlationID: rejection.correlationID))
            logger.info(
                "partner message parked",
                metadata: [
                    "hub.message.id": "\(delivery.properties.messageID ?? "-")", "gateway.reason": "\(rejection.code)",
                    "gateway.partner": "\(rejection.partner ?? "-")",
                ])
        }
        do {
            try await publisher.publish(message)
        } catch {
            logger.info("partner message not forwarded; requeued", metadata: ["error.type": "\(GatewayRoutes.label(error))"])
            try? await Task.sleep(for: .milliseconds(500))
            try? await delivery.nack(requeue: true)
            return
        }
        Counter(
            label: "gateway_amqp_messages_total",
            dimensions: [("outcome", message.exchange == Topology.ExchangeName.dead ? "parked" : "forwarded")]
        ).increment()
        try? await delivery.ack()
    }

    private func park(_ delivery: Delivery, _ rejection: Rejection) -> AMQPMessage {
        var properties = delivery.properties
        let now = Timestamp.now.text
        properties.headers[RuntimeHeader.reason] = .string(ParkReason.permanentFailure.description)
        properties.headers[RuntimeHeader.errorCode] = .string(rejection.code)
        properties.headers[RuntimeHeader.attempts] = .int64(1)
        properties.headers[RuntimeHeader.attempt] = .int64(1)
        properties.headers[RuntimeHeader.originalExchange] = .string(delivery.exchange)
        properties.headers[RuntimeHeader.originalRoutingKey] = .string(delivery.routingKey)
        properties.headers[RuntimeHeader.firstFailure] = .string(now)
        properties.headers[RuntimeHeader.lastFailure] = .string(now)
        properties.headers["x-huitong-gateway-rule"] = .string(rejection.rule)
        return AMQPMessage(
            exchange: Topology.ExchangeName.dead, routingKey: configuration.ingressQueue, body: delivery.body,
            properties: properties, mandatory: true)
    }

    /// Verifies and authorizes a delivery; returns the message to publish on `hub.commands`.
    func admit(_ delivery: Delivery) async throws -> AMQPMessage {
        let headers = delivery.headers
        func header(_ name: String) -> String? {
            headers[name.lowercased()]?.stringValue
                ?? headers[name]?.stringValue
                ?? headers[name.lowercased()].flatMap { value -> String? in
                    if case .bytes(let bytes) = value { return String(decoding: bytes, as: UTF8.self) }
                    return nil
                }
        }
        let routingPartner = delivery.routingKey.split(separator: ".", maxSplits: 1).first.map(String.init)
        let authenticator = Authenticator(directory: directory)
        let claim: SignatureClaim
        do {
            claim = try authenticator.claim(header)
        } catch {
            throw Rejection(
                code: Code.signatureMissing, rule: error.rule, detail: error.detail,
                partner: routingPartner.flatMap { try? PartnerID($0) }?.value, authenticated: false)
        }
        let found: Partner?
        do {
            found = try await directory.partner(claim.partner)
        } catch {
            // The store is down: not the partner's fault. Leave it for later (requeue through the caller).
            throw error
        }
        guard let partner = found else {
            throw Rejection(code: Code.partnerUnknown, rule: "GW-AUTH-2", detail: "unknown partner", partner: claim.partner.value, authenticated: false)
        }
        guard partner.status == .active else {
            throw Rejection(code: Code.partnerRevoked, rule: "GW-AUTH-3", detail: "revoked", partner: partner.id.value, authenticated: false)
        }
        let canonical = try CanonicalRequest(
            method: "PUBLISH", target: "/\(delivery.exchange)/\(delivery.routingKey)", partner: claim.partner.value,
            timestamp: claim.timestamp, nonce: claim.nonce, body: delivery.body)
        guard partner.verify(claim.signature, for: canonical.bytes, now: Date()) != nil else {
            throw Rejection(
                code: Code.signatureInvalid, rule: "GW-AUTH-4", detail: "the signature does not verify",
                partner: partner.id.value, authenticated: false)
        }
        func outOfScope(_ rule: String, _ detail: String, _ envelope: Envelope? = nil) -> Rejection {
            Rejection(
                code: Code.outOfScope, rule: rule, detail: detail, partner: partner.id.value, authenticated: true,
                messageID: envelope?.id.description, messageType: envelope?.type.value,
                correlationID: envelope.map { $0.correlationID ?? $0.id.uuid })
        }
        guard routingPartner == partner.id.value, partner.grants.isPartner else {
            throw outOfScope("GW-AUTHZ-6", "the routing key does not start with the partner's id")
        }
        let envelope: Envelope
        let json: JSONValue
        do {
            (envelope, json) = try validator.decode(delivery.body)
        } catch {
            throw Rejection(
                code: Code.contractViolation, rule: error.rule, detail: error.detail, partner: partner.id.value,
                authenticated: true)
        }
        guard delivery.routingKey == "\(partner.id.value).\(envelope.routingKey)" else {
            throw outOfScope("GW-AUTHZ-6", "the routing key must be <partner>.<type without version>", envelope)
        }
        guard partner.grants.allows(type: envelope.type.value) else {
            throw outOfScope("GW-AUTHZ-1", "type not granted", envelope)
        }
        if let enterprise = envelope.enterpriseID, !partner.grants.allows(enterprise: enterprise.value) {
            throw outOfScope("GW-AUTHZ-2", "enterprise not granted", envelope)
        }
        if let claimed = envelope.partnerID, claimed != partner.id {
            throw outOfScope("GW-AUTHZ-5", "partnerid differs from the signing partner", envelope)
        }
        do {
            try validator.validate(envelope, json: json)
        } catch {
            throw Rejection(
                code: Code.contractViolation, rule: error.rule, detail: error.detail, partner: partner.id.value,
                authenticated: true, messageID: envelope.id.description, messageType: envelope.type.value,
                correlationID: envelope.correlationID ?? envelope.id.uuid)
        }
        let stamped = try Envelope(
            id: envelope.id, source: envelope.source, type: envelope.type, time: envelope.time,
            dataSchema: envelope.dataSchema, data: envelope.data, correlationID: envelope.correlationID,
            causationID: envelope.causationID, enterpriseID: envelope.enterpriseID, partnerID: partner.id,
            traceParent: envelope.traceParent)
        return AMQPMessage(envelope: stamped, exchange: Topology.ExchangeName.commands, mandatory: true)
    }
}
