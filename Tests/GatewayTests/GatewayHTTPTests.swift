import Foundation
import Gateway
import HubAMQP
import HubCore
import HubCrypto
import HubStore
import Hummingbird
import HummingbirdTesting
import HTTPTypes
import Testing

/// The gateway's HTTP endpoints on a real server (in-process, free port) against the real broker and database.
/// Rule IDs are the gateway's (docs/gateway.md, "Rules") and REFERENCE.md's.
@Suite("Gateway HTTP", .serialized)
struct GatewayHTTPTests {
    static let enterprise = "91320500MA1Q7H2K3A"  // REFERENCE.md vector 1 (valid, R-ID-2)
    static let otherEnterprise = "92320583MA20KX4F81"  // vector 2

    static var grants: Partner.Grants {
        Partner.Grants(messageTypes: ["hub.heartbeat.ping.v1"], enterprises: [enterprise])
    }

    @Test("happy path: 202 only after the confirm, and the message is on hub.commands with partnerid stamped")
    func happyPath() async throws {
        let tap = try await TapQueue.start("happy", bindings: [("hub.commands", "hub.heartbeat.ping")])
        defer { Task { await tap.stop() } }
        try await GatewayHarness.run { gateway in
            let signer = try await gateway.hmacPartner("happy", grants: Self.grants)
            let envelope = try GatewaySupport.ping(enterprise: Self.enterprise)
            let response = try await gateway.send(.post, "/v1/messages", body: envelope.encode(), signer: signer)
            #expect(response.status == .accepted)
            #expect(response.json?["id"]?.stringValue == envelope.id.description)
            #expect(response.headers[.location] == "/v1/messages/\(envelope.id)")
            let delivered = await tap.wait { $0.properties.messageID == envelope.id.description }
            let published = try #require(delivered.first?.envelope)
            #expect(published.partnerID?.value == signer.partner)
            #expect(published.enterpriseID?.value == Self.enterprise)
            #expect(published.data == envelope.data)
        }
    }

    @Test("SM2-signed partner (R-SEC-2 signer ID): accepted; the same request signed by another SM2 key is not")
    func sm2Partner() async throws {
        // A queue bound to the type, so the mandatory publish is routable (without one the gateway answers 503).
        let tap = try await TapQueue.start("sm2", bindings: [("hub.commands", "hub.heartbeat.ping")])
        defer { Task { await tap.stop() } }
        try await GatewayHarness.run { gateway in
            let key = try SM2.PrivateKey()
            let id = GatewaySupport.unique("sm2")
            try await gateway.store.add(
                id: try PartnerID(id), name: id, grants: Self.grants,
                credential: .sm2(publicKeyPEM: key.publicKey.pemRepresentation))
            let good = RequestSigner(partner: id, key: .sm2(key))
            let accepted = try await gateway.send(.post, "/v1/messages", body: try GatewaySupport.ping().encode(), signer: good)
            #expect(accepted.status == .accepted)
            let forger = RequestSigner(partner: id, key: .sm2(try SM2.PrivateKey()))
            let refused = try await gateway.send(.post, "/v1/messages", body: try GatewaySupport.ping().encode(), signer: forger)
            #expect(refused.status == .unauthorized)
            #expect(refused.json?["code"]?.stringValue == "signature-invalid")
        }
    }

    @Test("every auth and scope failure is refused with its rule and recorded as gateway.request.refused.v1")
    func authFailures() async throws {
        let refusals = try await TapQueue.start("refused", bindings: [("hub.events", "gateway.request.refused")])
        let commands = try await TapQueue.start("auth", bindings: [("hub.commands", "hub.heartbeat.ping")])
        defer { Task { await refusals.stop(); await commands.stop() } }
        try await GatewayHarness.run { gateway in
            let signer = try await gateway.hmacPartner("auth", grants: Self.grants)
            let body = try GatewaySupport.ping(enterprise: Self.enterprise).encode()
            func expectProblem(_ response: TestResponse, _ status: HTTPResponse.Status, _ code: String, _ rule: String) {
                #expect(response.status == status, "\(code)")
                #expect(response.headers[.contentType] == "application/problem+json")
                #expect(response.json?["code"]?.stringValue == code)
                #expect(response.json?["rule"]?.stringValue == rule)
                #expect(response.json?["status"] == .number(JSONNumber(Int(status.code))))
            }
            // No signature (GW-AUTH-1).
            expectProblem(try await gateway.send(.post, "/v1/messages", body: body, signer: nil), .unauthorized, "signature-missing", "GW-AUTH-1")
            // Wrong key (GW-AUTH-4).
            let wrongKey = RequestSigner(partner: signer.partner, key: .hmacSM3(SymmetricKey(data: [UInt8](repeating: 9, count: 32))))
            expectProblem(try await gateway.send(.post, "/v1/messages", body: body, signer: wrongKey), .unauthorized, "signature-invalid", "GW-AUTH-4")
            // Tampered body: signed one body, sent another (GW-AUTH-4).
            let other = try GatewaySupport.ping(enterprise: Self.enterprise).encode()
            expectProblem(
                try await gateway.send(.post, "/v1/messages", body: other, signer: signer, signedBody: body), .unauthorized,
                "signature-invalid", "GW-AUTH-4")
            // Stale timestamp: 301 s old with a 300 s window (GW-AUTH-5).
            expectProblem(
                try await gateway.send(.post, "/v1/messages", body: body, signer: signer, time: Date().addingTimeInterval(-301)),
                .unauthorized, "timestamp-skew", "GW-AUTH-5")
            // Replayed nonce: the first use is accepted, the second refused (GW-AUTH-6).
            let nonce = RequestSigner.makeNonce()
            let first = try await gateway.send(.post, "/v1/messages", body: body, signer: signer, nonce: nonce)
            #expect(first.status == .accepted)
            expectProblem(
                try await gateway.send(.post, "/v1/messages", body: body, signer: signer, nonce: nonce), .unauthorized,
                "nonce-replayed", "GW-AUTH-6")
            // Unknown partner (GW-AUTH-2).
            let stranger = RequestSigner(partner: GatewaySupport.unique("nobody"), key: .hmacSM3(SymmetricKey(data: [UInt8](repeating: 1, count: 32))))
            expectProblem(try await gateway.send(.post, "/v1/messages", body: body, signer: stranger), .unauthorized, "partner-unknown", "GW-AUTH-2")
            // Out-of-scope type (GW-AUTHZ-1): a type the partner was not granted, even though it has a contract.
            let otherType = try GatewaySupport.ping(enterprise: Self.enterprise, type: "gateway.request.refused.v1").encode()
            expectProblem(try await gateway.send(.post, "/v1/messages", body: otherType, signer: signer), .forbidden, "type-not-granted", "GW-AUTHZ-1")
            // Out-of-scope enterprise (GW-AUTHZ-2).
            let otherEnterprise = try GatewaySupport.ping(enterprise: Self.otherEnterprise).encode()
            expectProblem(
                try await gateway.send(.post, "/v1/messages", body: otherEnterprise, signer: signer), .forbidden,
                "enterprise-not-granted", "GW-AUTHZ-2")
            // partnerid claiming another partner (GW-AUTHZ-5).
            let impersonating = try GatewaySupport.ping(enterprise: Self.enterprise, partner: "someone-else").encode()
            expectProblem(
                try await gateway.send(.post, "/v1/messages", body: impersonating, signer: signer), .forbidden,
                "partnerid-mismatch", "GW-AUTHZ-5")
            // Revoked partner (GW-AUTH-3): accepted before, refused after.
            try await gateway.store.revoke(id: try PartnerID(signer.partner))
            expectProblem(try await gateway.send(.post, "/v1/messages", body: body, signer: signer), .unauthorized, "partner-revoked", "GW-AUTH-3")

            // Every refusal of this partner reached the audit stream, with its reason and rule, and no body.
            let expected: Set<String> = [
                "signature-invalid", "timestamp-skew", "nonce-replayed", "type-not-granted", "enterprise-not-granted",
                "partnerid-mismatch", "partner-revoked",
            ]
            // Identical refusals may be coalesced into one event (with a count) or not, so wait for the reasons.
            var events: [Delivery] = []
            var reasons: Set<String> = []
            for _ in 0..<150 where !reasons.isSuperset(of: expected) {
                events = await refusals.wait(count: 1, timeout: .milliseconds(100)) { delivery in
                    delivery.envelope?.data["partnerId"]?.stringValue == signer.partner
                }
                reasons = Set(events.compactMap { $0.envelope?.data["reason"]?.stringValue })
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(reasons.isSuperset(of: expected), "recorded: \(reasons.sorted())")
            let authenticatedScopeRefusal = events.first { $0.envelope?.data["reason"]?.stringValue == "enterprise-not-granted" }?.envelope
            #expect(authenticatedScopeRefusal?.data["authenticated"] == .bool(true))
            #expect(authenticatedScopeRefusal?.data["messageType"]?.stringValue == "hub.heartbeat.ping.v1")
            #expect(authenticatedScopeRefusal?.partnerID?.value == signer.partner)
            // It joins the refused message's flow, caused by it, so a flow query shows the refusal.
            let refusedMessage = try Envelope.decode(bytes: otherEnterprise)
            #expect(authenticatedScopeRefusal?.correlationID == refusedMessage.id.uuid)
            #expect(authenticatedScopeRefusal?.causationID == refusedMessage.id.uuid)
            #expect(events.allSatisfy { $0.envelope?.data["body"] == nil })
            // Each event honours its own contract (schema and typed payload).
            for event in events {
                let (envelope, json) = try GatewaySupport.validator.decode(event.body)
                try GatewaySupport.validator.validate(envelope, json: json)
            }
        }
    }

    @Test("contract: unknown type and schema violations answer 422 problem+json with the pointer and rule")
    func contractViolations() async throws {
        var configuration = GatewayConfiguration.testDefault
        configuration.partnerCacheTTL = .seconds(5)
        try await GatewayHarness.run(configuration: configuration) { gateway in
            let signer = try await gateway.hmacPartner(
                "contract", grants: Partner.Grants(messageTypes: ["*"], enterprises: ["*"]))
            // A type no contract defines.
            let unknownType = try GatewaySupport.ping(type: "hub.heartbeat.unknown.v1")
            let unknown = try await gateway.send(.post, "/v1/messages", body: unknownType.encode(), signer: signer)
            #expect(unknown.status == .unprocessableContent)
            #expect(unknown.json?["code"]?.stringValue == "type-unknown")
            #expect(unknown.json?["pointer"]?.stringValue == "/type")
            // A payload member the contract forbids (additionalProperties false), reported under /data.
            var object = try #require(try GatewaySupport.ping().jsonValue.objectValue)
            object["data"] = .object(["surprise": .bool(true)])
            let extra = try await gateway.send(.post, "/v1/messages", body: JSONValue.object(object).canonicalBytes(), signer: signer)
            #expect(extra.status == .unprocessableContent)
            #expect(extra.json?["code"]?.stringValue == "contract-violation")
            #expect(extra.json?["pointer"]?.stringValue?.hasPrefix("/data") == true)
            #expect(extra.json?["rule"]?.stringValue == "additionalProperties")
            // Not CloudEvents: an unknown attribute is refused by the strict decoder.
            object = try #require(try GatewaySupport.ping().jsonValue.objectValue)
            object["corelationid"] = .string("x")
            let misspelled = try await gateway.send(.post, "/v1/messages", body: JSONValue.object(object).canonicalBytes(), signer: signer)
            #expect(misspelled.status == .unprocessableContent)
            #expect(misspelled.json?["pointer"]?.stringValue == "/corelationid")
            // Not JSON at all.
            let garbage = try await gateway.send(.post, "/v1/messages", body: Array("{not json".utf8), signer: signer)
            #expect(garbage.status == .unprocessableContent)
            #expect(garbage.json?["code"]?.stringValue == "malformed-json")
            // Wrong media type.
            let text = try await gateway.send(
                .post, "/v1/messages", body: try GatewaySupport.ping().encode(), signer: signer,
                extraHeaders: [("Content-Type", "text/plain")])
            #expect(text.status == .unsupportedMediaType)
        }
    }

    @Test("size limit: a body over the limit gets 413 before it is read, and its nonce is not stored (GW-LIMIT-1)")
    func sizeLimit() async throws {
        var configuration = GatewayConfiguration.testDefault
        configuration.maximumBodyBytes = 4_096
        try await GatewayHarness.run(configuration: configuration) { gateway in
            let signer = try await gateway.hmacPartner("size", grants: Self.grants)
            let nonce = RequestSigner.makeNonce()
            let big = [UInt8](repeating: 0x20, count: 5_000)
            let response = try await gateway.send(.post, "/v1/messages", body: big, signer: signer, nonce: nonce)
            #expect(response.status == .contentTooLarge)
            #expect(response.json?["rule"]?.stringValue == "GW-LIMIT-1")
            let stored = try await gateway.pool.query(
                "SELECT 1 FROM gateway.nonces WHERE partner_id = \(signer.partner) AND nonce = \(nonce)")
            #expect(stored.rows.isEmpty)
            // At the limit it is read (and then refused for what it is, not for its size).
            let atLimit = try await gateway.send(.post, "/v1/messages", body: [UInt8](repeating: 0x20, count: 4_096), signer: signer)
            #expect(atLimit.status == .unprocessableContent)
        }
    }

    @Test("rate limit: past the burst 429 with Retry-After, before any store work (GW-LIMIT-2)")
    func rateLimit() async throws {
        var configuration = GatewayConfiguration.testDefault
        configuration.rate = 0.01
        configuration.burst = 2
        try await GatewayHarness.run(configuration: configuration) { gateway in
            let signer = try await gateway.hmacPartner("rate", grants: Self.grants)
            let other = try await gateway.hmacPartner("rate-other", grants: Self.grants)
            let target = "/v1/messages/\(MessageID.generate())"
            #expect(try await gateway.send(.get, target, signer: signer).status == .notFound)
            #expect(try await gateway.send(.get, target, signer: signer).status == .notFound)
            let nonce = RequestSigner.makeNonce()
            let limited = try await gateway.send(.get, target, signer: signer, nonce: nonce)
            #expect(limited.status == .tooManyRequests)
            #expect(limited.json?["rule"]?.stringValue == "GW-LIMIT-2")
            let retryAfter = try #require(limited.headers[.retryAfter].flatMap { Int($0) })
            #expect(retryAfter >= 1)
            let stored = try await gateway.pool.query(
                "SELECT 1 FROM gateway.nonces WHERE partner_id = \(signer.partner) AND nonce = \(nonce)")
            #expect(stored.rows.isEmpty)
            // Buckets are per partner.
            #expect(try await gateway.send(.get, target, signer: other).status == .notFound)
        }
    }

    @Test("broker unavailable: 503 with Retry-After, never 202, and the message is not on the broker (GW-BROKER-1)")
    func brokerUnavailable() async throws {
        let tap = try await TapQueue.start("down", bindings: [("hub.commands", "hub.heartbeat.ping")])
        defer { Task { await tap.stop() } }
        // The publisher points at a closed port: every publish fails to connect.
        try await GatewayHarness.run(publisherURL: "amqp://huitong:huitong@127.0.0.1:1/huitong_gw") { gateway in
            let signer = try await gateway.hmacPartner("down", grants: Self.grants)
            let envelope = try GatewaySupport.ping(enterprise: Self.enterprise)
            let response = try await gateway.send(.post, "/v1/messages", body: envelope.encode(), signer: signer)
            #expect(response.status == .serviceUnavailable)
            #expect(response.headers[.retryAfter] == "7")
            #expect(response.json?["code"]?.stringValue == "broker-unavailable")
            let delivered = await tap.wait(timeout: .seconds(2)) { $0.properties.messageID == envelope.id.description }
            #expect(delivered.isEmpty)
        }
    }

    @Test("broker connection closed mid-run: each answer is 503 (not delivered) or 202 (on the broker)")
    func brokerGoesAway() async throws {
        let tap = try await TapQueue.start("killed", bindings: [("hub.commands", "hub.heartbeat.ping")])
        defer { Task { await tap.stop() } }
        try await GatewayHarness.run { gateway in
            let signer = try await gateway.hmacPartner("killed", grants: Self.grants)
            let before = try GatewaySupport.ping()
            #expect(try await gateway.send(.post, "/v1/messages", body: before.encode(), signer: signer).status == .accepted)
            // Close the harness publisher's connection from the broker (only connections named like ours).
            let names = try await closeConnections(named: gateway.publisherName)
            #expect(names > 0)
            var accepted: [Envelope] = []
            var unavailable = 0
            for _ in 0..<5 {
                let envelope = try GatewaySupport.ping()
                let response = try await gateway.send(.post, "/v1/messages", body: envelope.encode(), signer: signer)
                switch response.status {
                case .accepted: accepted.append(envelope)
                case .serviceUnavailable:
                    unavailable += 1
                    #expect(response.headers[.retryAfter] != nil)
                default: Issue.record("unexpected status \(response.status)")
                }
            }
            for envelope in accepted {
                let delivered = await tap.wait { $0.properties.messageID == envelope.id.description }
                #expect(delivered.count == 1, "a 202 must mean the message is on the broker")
            }
            #expect(accepted.count + unavailable == 5)
        }
    }

    /// Closes, from the broker, the connections whose client-provided name is `name` (unique per harness run).
    func closeConnections(named name: String) async throws -> Int {
        let script = GatewaySupport.repositoryRoot.appendingPathComponent("deploy/local/servers.sh").path
        let output = try await runProcess(
            script, ["rabbitmqctl", "-q", "list_connections", "--no-table-headers", "pid", "client_properties"]
        ).stdout
        var closed = 0
        for line in output.split(separator: "\n") where line.contains(name) {
            let pid = String(line.split(separator: "\t")[0])
            _ = try? await runProcess(script, ["rabbitmqctl", "close_connection", pid, "gateway test: broker goes away"])
            closed += 1
        }
        return closed
    }

    @Test("read endpoints: a partner sees its own message's status; a reviewer needs audit:unmask to unmask")
    func readEndpoints() async throws {
        let id = MessageID.generate()
        let correlation = id.description
        let partnerID = GatewaySupport.unique("reader")
        let records = [
            FlowRecord(
                id: id.description, type: "payments.transfer.request.v1", time: "2026-11-22T10:00:00Z",
                correlationID: correlation, partnerID: partnerID, enterpriseID: Self.enterprise, envelope: .object([:])),
            FlowRecord(
                id: MessageID.generate().description, type: "payments.transfer.accepted.v1", time: "2026-11-22T10:00:01Z",
                correlationID: correlation, causationID: id.description, enterpriseID: Self.enterprise, envelope: .object([:])),
            FlowRecord(
                id: MessageID.generate().description, type: "payments.transfer.settled.v1", time: "2026-11-22T10:00:05Z",
                correlationID: correlation, enterpriseID: Self.enterprise, envelope: .object([:])),
        ]
        let unmaskedEvents = try await TapQueue.start("unmasked", bindings: [("hub.events", "gateway.audit.unmasked")])
        defer { Task { await unmaskedEvents.stop() } }
        let querying = TestFlowQuerying(records: records)
        try await GatewayHarness.run(querying: querying) { gateway in
            let secret = [UInt8](repeating: 3, count: 32)
            try await gateway.store.add(
                id: try PartnerID(partnerID), name: partnerID, grants: Self.grants, credential: .hmacSM3(secret: secret))
            let owner = RequestSigner(partner: partnerID, key: .hmacSM3(SymmetricKey(data: secret)))
            let stranger = try await gateway.hmacPartner("stranger", grants: Self.grants)
            let reviewer = try await gateway.hmacPartner("reviewer", grants: Partner.Grants(roles: ["reviewer"]))
            let unmasker = try await gateway.hmacPartner("unmasker", grants: Partner.Grants(roles: ["reviewer"], auditUnmask: true))

            let status = try await gateway.send(.get, "/v1/messages/\(id)", signer: owner)
            #expect(status.status == .ok)
            #expect(status.json?["status"]?.stringValue == "settled")
            #expect(status.json?["events"]?.arrayValue?.count == 2)
            #expect(try await gateway.send(.get, "/v1/messages/\(id)", signer: stranger).status == .notFound)

            let flow = try await gateway.send(.get, "/v1/flows/\(correlation)?limit=2", signer: owner)
            #expect(flow.status == .ok)
            #expect(flow.json?["messages"]?.arrayValue?.count == 2)
            #expect(flow.json?["nextCursor"]?.stringValue == "2")
            let secondPage = try await gateway.send(.get, "/v1/flows/\(correlation)?limit=2&cursor=2", signer: owner)
            #expect(secondPage.json?["messages"]?.arrayValue?.count == 1)
            // Another partner sees neither the flow nor a later page of it (a cursor does not skip the check).
            #expect(try await gateway.send(.get, "/v1/flows/\(correlation)", signer: stranger).status == .notFound)
            #expect(try await gateway.send(.get, "/v1/flows/\(correlation)?cursor=1", signer: stranger).status == .notFound)
            // A reviewer sees any flow.
            #expect(try await gateway.send(.get, "/v1/flows/\(correlation)", signer: reviewer).status == .ok)

            // GW-AUTHZ-3: partners may not search the audit records; GW-AUTHZ-4: unmask needs its own grant.
            #expect(try await gateway.send(.get, "/v1/audit?enterpriseId=\(Self.enterprise)", signer: owner).status == .forbidden)
            let masked = try await gateway.send(.get, "/v1/audit?enterpriseId=\(Self.enterprise)", signer: reviewer)
            #expect(masked.status == .ok)
            #expect(masked.json?["messages"]?.arrayValue?.first?["envelope"] == .string("masked"))
            let refused = try await gateway.send(.get, "/v1/audit?enterpriseId=\(Self.enterprise)&unmask=true", signer: reviewer)
            #expect(refused.status == .forbidden)
            #expect(refused.json?["rule"]?.stringValue == "GW-AUTHZ-4")
            let unmasked = try await gateway.send(.get, "/v1/audit?enterpriseId=\(Self.enterprise)&unmask=true", signer: unmasker)
            #expect(unmasked.status == .ok)
            #expect(unmasked.json?["messages"]?.arrayValue?.first?["envelope"] == .object([:]))
            // The unmasked read itself is on the audit stream (R-SEC-3: actor, action, object), with its filters.
            let recorded = await unmaskedEvents.wait { $0.envelope?.data["partnerId"]?.stringValue == unmasker.partner }
            let event = try #require(recorded.first?.envelope)
            #expect(event.data["records"] == .number(JSONNumber(3)))
            #expect(event.data["filters"]?["enterpriseId"]?.stringValue == Self.enterprise)
            let (decoded, json) = try GatewaySupport.validator.decode(recorded[0].body)
            try GatewaySupport.validator.validate(decoded, json: json)
            // A masked read is not recorded as unmasked.
            #expect(await unmaskedEvents.wait(timeout: .milliseconds(300)) {
                $0.envelope?.data["partnerId"]?.stringValue == reviewer.partner
            }.isEmpty)
            // The audit library is told who reads, and unmasks only for the audit:unmask holder.
            let calls = querying.calls.all
            #expect(calls.contains { $0.reader == unmasker.partner && $0.unmasked })
            #expect(calls.filter(\.unmasked).allSatisfy { $0.reader == unmasker.partner })
            #expect(calls.contains { $0.reader == owner.partner && !$0.unmasked })
            // A bad filter is a 422 naming the parameter (R-ID-2 check character).
            let badUSCC = try await gateway.send(.get, "/v1/audit?enterpriseId=91320500MA1Q7H2K3B", signer: reviewer)
            #expect(badUSCC.status == .unprocessableContent)
            #expect(badUSCC.json?["pointer"]?.stringValue == "/enterpriseId")
        }
    }
}

