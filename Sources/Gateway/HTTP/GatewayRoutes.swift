import Foundation
import HTTPTypes
import HubAMQP
import HubCore
public import Hummingbird
public import Logging
import Metrics
import NIOCore

/// The gateway's HTTP endpoints, added to the process's Hummingbird router:
/// `POST /v1/messages`, `GET /v1/messages/{id}`, `GET /v1/flows/{correlationId}`, `GET /v1/audit`.
///
/// Every request is authenticated (signature, timestamp window, nonce) and rate limited per partner; every refusal
/// is answered as `application/problem+json` and recorded through the ``RefusalRecorder``. A message is answered
/// `202` only after the broker confirmed it.
public struct GatewayRoutes: Sendable {
    let configuration: GatewayConfiguration
    let authenticator: Authenticator
    let limiter: RateLimiter
    let validator: ContractValidator
    let publisher: any EnvelopePublishing
    let recorder: RefusalRecorder
    let querying: any FlowQuerying
    let logger: Logger

    /// Creates the routes.
    /// - Parameters:
    ///   - configuration: The settings.
    ///   - authenticator: Verifies signatures.
    ///   - limiter: Per-partner token buckets.
    ///   - validator: Contract validation.
    ///   - publisher: The confirmed publisher.
    ///   - recorder: Records refusals in the audit stream.
    ///   - querying: The audit query (flows, messages, search).
    ///   - logger: The logger.
    public init(
        configuration: GatewayConfiguration, authenticator: Authenticator, limiter: RateLimiter,
        validator: ContractValidator, publisher: any EnvelopePublishing, recorder: RefusalRecorder,
        querying: any FlowQuerying, logger: Logger
    ) {
        self.configuration = configuration
        self.authenticator = authenticator
        self.limiter = limiter
        self.validator = validator
        self.publisher = publisher
        self.recorder = recorder
        self.querying = querying
        self.logger = logger
    }

    /// Adds the endpoints.
    /// - Parameter router: The process's router.
    public func register(on router: Router<BasicRequestContext>) {
        router.post("/v1/messages") { request, _ in
            await self.respond(request, route: "submit") { try await self.submit(request) }
        }
        router.get("/v1/messages/:id") { request, context in
            let id = context.parameters.get("id") ?? ""
            return await self.respond(request, route: "message") { try await self.messageStatus(request, id: id) }
        }
        router.get("/v1/flows/:correlationId") { request, context in
            let id = context.parameters.get("correlationId") ?? ""
            return await self.respond(request, route: "flow") { try await self.flow(request, correlationID: id) }
        }
        router.get("/v1/audit") { request, _ in
            await self.respond(request, route: "audit") { try await self.audit(request) }
        }
    }

    // MARK: Request handling

    /// What a handler learned before it failed, for the refusal record.
    final class Trace: @unchecked Sendable {
        // Written and read by the one task that handles the request (and read after it finished).
        var partner: String?
        var authenticated = false
        var messageID: String?
        var messageType: String?
        var correlationID: UUID?
    }

    private func respond(
        _ request: Request, route: String, _ body: @escaping @Sendable () async throws -> Response
    ) async -> Response {
        let response: Response
        let trace = Trace()
        do {
            let timeout = configuration.requestTimeout
            response = try await Trace.$current.withValue(trace) {
                try await withDeadline(timeout) { try await body() }
            }
        } catch let problem as GatewayProblem {
            response = problemResponse(problem, trace: trace, request: request, route: route)
        } catch is DeadlineExceeded {
            response = problemResponse(
                .unavailable(
                    "request-timeout", "GW-LIMIT-3", "the request did not complete in time; retry with the same message id",
                    retryAfter: configuration.retryAfterSeconds),
                trace: trace, request: request, route: route)
        } catch {
            logger.info("gateway request failed", metadata: ["hub.route": "\(route)", "error.type": "\(type(of: error))"])
            response = problemResponse(
                .unavailable("internal", "GW-INTERNAL", "the gateway could not complete the request", retryAfter: 1),
                trace: trace, request: request, route: route)
        }
        Counter(label: "gateway_requests_total", dimensions: [("route", route), ("status", "\(response.status.code)")])
            .increment()
        return response
    }

    private func problemResponse(_ problem: GatewayProblem, trace: Trace?, request: Request, route: String) -> Response {
        if problem.status < 500 {
            recorder.record(
                Refusal(
                    partner: trace?.partner, authenticated: trace?.authenticated ?? false, status: problem.status,
                    reason: problem.code, rule: problem.rule, method: request.method.rawValue, path: request.uri.path,
                    messageID: trace?.messageID, messageType: trace?.messageType, correlationID: trace?.correlationID))
        }
        logger.info(
            "gateway refused a request",
            metadata: [
                "hub.route": "\(route)", "http.status": "\(problem.status)", "gateway.reason": "\(problem.code)",
                "gateway.partner": "\(trace?.partner ?? "-")", "hub.message.id": "\(trace?.messageID ?? "-")",
            ])
        var headers = HTTPFields()
        headers[.contentType] = "application/problem+json"
        if let retryAfter = problem.retryAfter { headers[.retryAfter] = String(retryAfter) }
        return Response(
            status: .init(code: problem.status), headers: headers,
            body: .init(byteBuffer: ByteBuffer(bytes: problem.document(instance: request.uri.path).canonicalBytes())))
    }

    private func jsonResponse(_ status: HTTPResponse.Status, _ value: JSONValue, headers extra: [(HTTPField.Name, String)] = [])
        -> Response
    {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        for (name, value) in extra { headers[name] = value }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: value.canonicalBytes())))
    }

    /// Authentication and rate limiting shared by every endpoint: returns the partner and the body.
    private func authenticate(_ request: Request, trace: Trace) async throws -> (Partner, [UInt8]) {
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > configuration.maximumBodyBytes {
            // Over the size limit: refused before the body is read (the claimed partner, if well formed, is noted).
            trace.partner = request.headers[GatewayRoutes.partnerHeader].flatMap { try? PartnerID($0) }?.value
            throw GatewayProblem.tooLarge(limit: configuration.maximumBodyBytes)
        }
        let claim = try authenticator.claim { name in
            HTTPField.Name(name).flatMap { request.headers[$0] }
        }
        trace.partner = claim.partner.value
        // Cheap rejection: a partner already over its rate is refused before the body is read or the store asked.
        if let retryAfter = limiter.peek(claim.partner.value) {
            throw GatewayProblem.rateLimited(retryAfter: retryAfter)
        }
        let body: [UInt8]
        do {
            body = Array(try await request.body.collect(upTo: configuration.maximumBodyBytes).readableBytesView)
        } catch is NIOTooManyBytesError {
            throw GatewayProblem.tooLarge(limit: configuration.maximumBodyBytes)
        }
        let partner = try await authenticator.verify(
            claim, method: request.method.rawValue, target: request.head.path ?? request.uri.path, body: body)
        trace.authenticated = true
        if let retryAfter = limiter.take(partner.id.value) {
            throw GatewayProblem.rateLimited(retryAfter: retryAfter)
        }
        try await authenticator.useNonce(claim)
        return (partner, body)
    }

    static let partnerHeader = HTTPField.Name(GatewayHeader.partner)!

    // MARK: POST /v1/messages

    private func submit(_ request: Request) async throws -> Response {
        let trace = request.installGatewayTrace()
        if let contentType = request.headers[.contentType] {
            let media = contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            guard media == "application/cloudevents+json" || media == "application/json" else {
                throw GatewayProblem(
                    status: 415, code: "unsupported-media-type", rule: "GW-MEDIA-1", title: "Unsupported Media Type",
                    detail: "send application/cloudevents+json (CloudEvents structured mode)")
            }
        }
        let (partner, body) = try await authenticate(request, trace: trace)
        guard partner.grants.isPartner else {
            throw GatewayProblem.forbidden("role-missing", "GW-AUTHZ-3", "the partner may not submit messages")
        }
        let (envelope, json) = try validator.decode(body)
        trace.messageID = envelope.id.description
        trace.messageType = envelope.type.value
        trace.correlationID = envelope.correlationID ?? envelope.id.uuid
        guard partner.grants.allows(type: envelope.type.value) else {
            throw GatewayProblem.forbidden(
                "type-not-granted", "GW-AUTHZ-1", "the partner may not send messages of type \(envelope.type.value)")
        }
        if let enterprise = envelope.enterpriseID, !partner.grants.allows(enterprise: enterprise.value) {
            throw GatewayProblem.forbidden(
                "enterprise-not-granted", "GW-AUTHZ-2", "the partner may not act for the enterprise in enterpriseid")
        }
        if let claimed = envelope.partnerID, claimed != partner.id {
            throw GatewayProblem.forbidden(
                "partnerid-mismatch", "GW-AUTHZ-5", "partnerid must be the signing partner's id or absent")
        }
        try validator.validate(envelope, json: json)
        let stamped = try Envelope(
            id: envelope.id, source: envelope.source, type: envelope.type, time: envelope.time,
            dataSchema: envelope.dataSchema, data: envelope.data, correlationID: envelope.correlationID,
            causationID: envelope.causationID, enterpriseID: envelope.enterpriseID, partnerID: partner.id,
            traceParent: envelope.traceParent)
        let message = AMQPMessage(envelope: stamped, exchange: Topology.ExchangeName.commands, mandatory: true)
        let publisher = self.publisher
        do {
            try await withDeadline(configuration.publishTimeout) { try await publisher.publish(message) }
        } catch {
            logger.info(
                "gateway publish not confirmed",
                metadata: ["hub.message.id": "\(envelope.id)", "error.type": "\(Self.label(error))"])
            if (error as? AMQPError)?.code == .unroutable {
                // The broker took it but no queue is bound for its routing key: a deployment gap, not the partner's.
                throw GatewayProblem.unavailable(
                    "no-route", "GW-BROKER-2",
                    "no consumer is bound for this message type yet; retry with the same message id",
                    retryAfter: configuration.retryAfterSeconds)
            }
            throw GatewayProblem.unavailable(
                "broker-unavailable", "GW-BROKER-1",
                "the message was not confirmed by the broker; retry with the same message id",
                retryAfter: configuration.retryAfterSeconds)
        }
        logger.debug("gateway accepted a message", metadata: ["hub.message.id": "\(envelope.id)", "gateway.partner": "\(partner.id)"])
        return jsonResponse(
            .accepted,
            .object([
                "id": .string(envelope.id.description),
                "type": .string(envelope.type.value),
                "correlationid": .string(UUIDText.format(envelope.correlationID ?? envelope.id.uuid)),
                "status": .string("accepted"),
            ]),
            headers: [(.location, "/v1/messages/\(envelope.id)")])
    }

    static func label(_ error: any Error) -> String {
        if let error = error as? AMQPError { return error.code.description }
        if error is DeadlineExceeded { return "timeout" }
        return "\(type(of: error))"
    }

    // MARK: GET /v1/messages/{id}

    private func messageStatus(_ request: Request, id: String) async throws -> Response {
        let trace = request.installGatewayTrace()
        let (partner, _) = try await authenticate(request, trace: trace)
        guard let messageID = try? MessageID(id) else {
            throw GatewayProblem.invalid(
                "invalid-parameter", "CE-id", "the message id must be a lowercase UUID version 7",
                errors: [ValidationError(.invalidFormat, pointer: "/id", rule: "CE-id", message: "not a UUIDv7")])
        }
        trace.messageID = messageID.description
        let unmasked = false
        let record = try await query { try await querying.message(id: messageID, unmasked: unmasked, reader: partner.id.value) }
        guard let record, partner.grants.isReviewer || record.partnerID == partner.id.value else {
            return notFound("no message with this id is visible to the partner")
        }
        let correlation = record.correlationID.flatMap { UUID(uuidString: $0) } ?? messageID.uuid
        let page = try await query { try await querying.messages(correlationId: correlation, limit: 500, cursor: nil, unmasked: false, reader: partner.id.value) }
        let later = page.records.drop { $0.id != record.id }.dropFirst()
        let status = later.last.map { Self.status(ofEventType: $0.type) } ?? "received"
        return jsonResponse(
            .ok,
            .object([
                "id": .string(record.id),
                "type": .string(record.type),
                "correlationid": .string(UUIDText.format(correlation)),
                "status": .string(status),
                "events": .array(later.map { Self.summary($0) }),
            ]))
    }

    /// `payments.transfer.settled.v1` → `settled`.
    static func status(ofEventType type: String) -> String {
        (try? MessageType(type))?.verb ?? "unknown"
    }

    static func summary(_ record: FlowRecord) -> JSONValue {
        var object: JSONObject = ["id": .string(record.id), "type": .string(record.type), "time": .string(record.time)]
        if let causation = record.causationID { object["causationid"] = .string(causation) }
        return .object(object)
    }

    private func notFound(_ detail: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/problem+json"
        let problem = GatewayProblem(status: 404, code: "not-found", rule: "GW-READ-1", title: "Not Found", detail: detail)
        return Response(
            status: .notFound, headers: headers,
            body: .init(byteBuffer: ByteBuffer(bytes: problem.document(instance: "").canonicalBytes())))
    }

    private func query<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch is InvalidFlowCursor {
            throw GatewayProblem.invalid(
                "invalid-parameter", "GW-READ-3", "cursor is not one this API returned",
                errors: [ValidationError(.invalidValue, pointer: "/cursor", rule: "GW-READ-3", message: "unknown cursor")])
        } catch {
            throw GatewayProblem.unavailable(
                "audit-unavailable", "GW-READ-2", "the audit query is unavailable", retryAfter: configuration.retryAfterSeconds)
        }
    }

    // MARK: GET /v1/flows/{correlationId}

    private func flow(_ request: Request, correlationID: String) async throws -> Response {
        let trace = request.installGatewayTrace()
        let (partner, _) = try await authenticate(request, trace: trace)
        guard let correlation = UUIDText.parse(correlationID) else {
            throw GatewayProblem.invalid(
                "invalid-parameter", "CE-correlationid", "the correlation id must be a lowercase UUID",
                errors: [
                    ValidationError(.invalidFormat, pointer: "/correlationId", rule: "CE-correlationid", message: "not a UUID")
                ])
        }
        let (limit, cursor) = try pageParameters(request)
        let page = try await query { try await querying.messages(correlationId: correlation, limit: limit, cursor: cursor, unmasked: false, reader: partner.id.value) }
        if !partner.grants.isReviewer {
            // A partner sees only flows it started: the flow's first message carries its partnerid. Checked on the
            // first page whatever page is asked for, so a cursor cannot skip the check.
            let head = cursor == nil
                ? page
                : try await query { try await querying.messages(correlationId: correlation, limit: 1, cursor: nil, unmasked: false, reader: partner.id.value) }
            guard head.records.first?.partnerID == partner.id.value else {
                return notFound("no flow with this correlation id is visible to the partner")
            }
        }
        return jsonResponse(.ok, Self.pageDocument(page))
    }

    static func pageDocument(_ page: FlowPage) -> JSONValue {
        var object: JSONObject = [
            "messages": .array(
                page.records.map { record in
                    var object: JSONObject = [
                        "id": .string(record.id), "type": .string(record.type), "time": .string(record.time),
                        "envelope": record.envelope,
                    ]
                    if let value = record.correlationID { object["correlationid"] = .string(value) }
                    if let value = record.causationID { object["causationid"] = .string(value) }
                    if let value = record.partnerID { object["partnerid"] = .string(value) }
                    if let value = record.enterpriseID { object["enterpriseid"] = .string(value) }
                    return .object(object)
                })
        ]
        if let cursor = page.nextCursor { object["nextCursor"] = .string(cursor) }
        return .object(object)
    }

    private func pageParameters(_ request: Request) throws -> (Int, String?) {
        let parameters = request.uri.queryParameters
        var limit = 100
        if let text = parameters["limit"] {
            guard let value = Int(text), (1...500).contains(value) else {
                throw GatewayProblem.invalid(
                    "invalid-parameter", "GW-READ-3", "limit must be an integer from 1 to 500",
                    errors: [ValidationError(.outOfRange, pointer: "/limit", rule: "GW-READ-3", message: "1 to 500")])
            }
            limit = value
        }
        let cursor = parameters["cursor"].map(String.init)
        if let cursor, cursor.isEmpty || cursor.count > 512 {
            throw GatewayProblem.invalid(
                "invalid-parameter", "GW-READ-3", "cursor must be 1 to 512 characters",
                errors: [ValidationError(.invalidValue, pointer: "/cursor", rule: "GW-READ-3", message: "bad cursor")])
        }
        return (limit, cursor)
    }

    // MARK: GET /v1/audit

    private func audit(_ request: Request) async throws -> Response {
        let trace = request.installGatewayTrace()
        let (partner, _) = try await authenticate(request, trace: trace)
        guard partner.grants.isReviewer else {
            throw GatewayProblem.forbidden("role-missing", "GW-AUTHZ-3", "only reviewers may query the audit records")
        }
        let parameters = request.uri.queryParameters
        let unmask = parameters["unmask"].map { $0 == "true" } ?? false
        if unmask && !partner.grants.auditUnmask {
            throw GatewayProblem.forbidden("unmask-not-granted", "GW-AUTHZ-4", "unmasked audit data needs the audit:unmask grant")
        }
        let (limit, cursor) = try pageParameters(request)
        var query = FlowSearch(limit: limit, cursor: cursor)
        func invalid(_ name: String, _ rule: String, _ message: String) -> GatewayProblem {
            .invalid(
                "invalid-parameter", rule, "\(name): \(message)",
                errors: [ValidationError(.invalidFormat, pointer: "/\(name)", rule: rule, message: message)])
        }
        if let value = parameters["correlationId"] {
            guard let uuid = UUIDText.parse(String(value)) else { throw invalid("correlationId", "CE-correlationid", "not a lowercase UUID") }
            query.correlationID = uuid
        }
        if let value = parameters["enterpriseId"] {
            guard let uscc = try? USCC(String(value)) else { throw invalid("enterpriseId", "R-ID-2", "not a valid USCC") }
            query.enterpriseID = uscc.value
        }
        if let value = parameters["type"] {
            guard (try? MessageType(String(value))) != nil else { throw invalid("type", "CE-type", "not a message type") }
            query.type = String(value)
        }
        if let value = parameters["partnerId"] {
            guard (try? PartnerID(String(value))) != nil else { throw invalid("partnerId", "CE-partnerid", "not a partner id") }
            query.partnerID = String(value)
        }
        if let value = parameters["from"] {
            guard let time = try? Timestamp(rfc3339: String(value)) else { throw invalid("from", "CE-time", "not RFC 3339 with offset") }
            query.since = time.date
        }
        if let value = parameters["to"] {
            guard let time = try? Timestamp(rfc3339: String(value)) else { throw invalid("to", "CE-time", "not RFC 3339 with offset") }
            query.until = time.date
        }
        let finalQuery = query
        let page = try await self.query { try await querying.search(finalQuery, unmasked: unmask, reader: partner.id.value) }
        if unmask {
            // Fail closed: unmasked records leave only after the access itself is on the audit stream (confirmed).
            try await recordUnmaskedRead(partner: partner, query: finalQuery, records: page.records.count)
        }
        return jsonResponse(.ok, Self.pageDocument(page))
    }
}

extension GatewayRoutes {
    /// The event type of an unmasked audit read.
    public static let unmaskedEventType = "gateway.audit.unmasked.v1"

    /// Publishes `gateway.audit.unmasked.v1` with a confirm; a failure refuses the read (503).
    func recordUnmaskedRead(partner: Partner, query: FlowSearch, records: Int) async throws {
        var filters: JSONObject = ["limit": .number(JSONNumber(query.limit))]
        if let value = query.correlationID { filters["correlationId"] = .string(UUIDText.format(value)) }
        if let value = query.enterpriseID { filters["enterpriseId"] = .string(value) }
        if let value = query.type { filters["type"] = .string(value) }
        if let value = query.partnerID { filters["partnerId"] = .string(value) }
        if let value = query.since { filters["from"] = .string(Timestamp(value).text) }
        if let value = query.until { filters["to"] = .string(Timestamp(value).text) }
        if let value = query.cursor { filters["cursor"] = .string(value) }
        let type = try MessageType(Self.unmaskedEventType)
        let envelope = try Envelope(
            source: "urn:huitong:gateway", type: type, dataSchema: ContractValidator.schemaID(for: type),
            data: [
                "partnerId": .string(partner.id.value), "records": .number(JSONNumber(records)),
                "filters": .object(filters),
            ],
            partnerID: partner.id)
        let message = AMQPMessage(envelope: envelope, exchange: Topology.ExchangeName.events, mandatory: true)
        let publisher = self.publisher
        do {
            try await withDeadline(configuration.publishTimeout) { try await publisher.publish(message) }
        } catch {
            logger.info("unmasked read not recorded; refused", metadata: ["error.type": "\(Self.label(error))"])
            throw GatewayProblem.unavailable(
                "unmask-unrecorded", "GW-READ-4", "the unmasked read could not be recorded in the audit stream",
                retryAfter: configuration.retryAfterSeconds)
        }
        logger.info("unmasked audit query", metadata: ["gateway.partner": "\(partner.id)", "gateway.records": "\(records)"])
    }
}

extension Request {
    /// The request's trace (bound by `respond` in a task-local), so the problem mapper sees what the handler learned.
    fileprivate func installGatewayTrace() -> GatewayRoutes.Trace {
        GatewayRoutes.Trace.current ?? GatewayRoutes.Trace()
    }
}

extension GatewayRoutes.Trace {
    @TaskLocal static var current: GatewayRoutes.Trace?
}
