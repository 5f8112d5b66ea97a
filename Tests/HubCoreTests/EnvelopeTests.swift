import Foundation
import Synchronization
import HubCore
import Testing

/// A valid envelope with every extension, as a JSON object to mutate.
let validEnvelope: JSONObject = [
    "specversion": "1.0",
    "id": "01936f4e-8a3b-7c2d-9e1f-0a1b2c3d4e5f",
    "source": "/partners/acme-erp",
    "type": "payments.transfer.request.v1",
    "time": "2026-05-01T16:30:00.250+08:00",
    "datacontenttype": "application/json",
    "dataschema": "https://huitong.example.com/contracts/schemas/payments/transfer-request.v1.schema.json",
    "data": ["amount": ["amount": "1234.50", "currency": "CNY"]],
    "correlationid": "5f0c6a8e-2b1d-4c3e-8f7a-9b0c1d2e3f40",
    "causationid": "01936f4e-8a3b-7c2d-9e1f-0a1b2c3d4e50",
    "enterpriseid": "91320500MA1Q7H2K3A",
    "partnerid": "acme-erp",
    "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
]

func decode(_ object: JSONObject) throws(ValidationErrors) -> Envelope {
    try Envelope.decode(bytes: JSONValue.object(object).canonicalBytes())
}

func firstError(_ object: JSONObject) -> ValidationError? {
    do {
        _ = try decode(object)
        return nil
    } catch {
        return error.first
    }
}

func with(_ key: String, _ value: JSONValue?) -> JSONObject {
    var object = validEnvelope
    object[key] = value
    return object
}

@Suite("Envelope (CloudEvents 1.0 structured JSON)")
struct EnvelopeTests {
    @Test("A valid envelope with every extension decodes, and encode() gives the canonical bytes back")
    func validRoundTrip() throws {
        let envelope = try decode(validEnvelope)
        #expect(envelope.id.description == "01936f4e-8a3b-7c2d-9e1f-0a1b2c3d4e5f")
        #expect(envelope.type.routingKey == "payments.transfer.request")
        #expect(envelope.time.text == "2026-05-01T16:30:00.250+08:00")
        #expect(envelope.time.date == Date(timeIntervalSince1970: 1_777_624_200.25))
        #expect(envelope.enterpriseID?.value == "91320500MA1Q7H2K3A")
        #expect(envelope.partnerID?.value == "acme-erp")
        #expect(envelope.traceParent?.traceID == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(envelope.correlationID?.uuidString.lowercased() == "5f0c6a8e-2b1d-4c3e-8f7a-9b0c1d2e3f40")
        #expect(envelope.encode() == JSONValue.object(validEnvelope).canonicalBytes())
        #expect(try Envelope.decode(bytes: envelope.encode()) == envelope)
    }

    @Test("Only the required attributes is enough")
    func minimal() throws {
        var object = validEnvelope
        for key in ["correlationid", "causationid", "enterpriseid", "partnerid", "traceparent"] { object[key] = nil }
        let envelope = try decode(object)
        #expect(envelope.correlationID == nil && envelope.enterpriseID == nil && envelope.traceParent == nil)
    }

    @Test("Each missing required attribute is missingField at its pointer", arguments: [
        "specversion", "id", "source", "type", "time", "datacontenttype", "dataschema", "data",
    ])
    func missing(_ key: String) {
        let error = firstError(with(key, nil))
        #expect(error?.code == .missingField)
        #expect(error?.pointer == "/\(key)")
    }

    @Test("Refusals carry the right code and pointer", arguments: [
        ("specversion", JSONValue.string("0.3"), "invalidValue"),
        ("specversion", .number(JSONNumber(1)), "wrongType"),
        ("id", "01936f4e-8a3b-4c2d-9e1f-0a1b2c3d4e5f", "invalidFormat"),  // version 4
        ("id", "01936f4e-8a3b-7c2d-7e1f-0a1b2c3d4e5f", "invalidFormat"),  // variant 0
        ("id", "01936F4E-8A3B-7C2D-9E1F-0A1B2C3D4E5F", "invalidFormat"),  // uppercase
        ("id", "not-a-uuid", "invalidFormat"),
        ("source", "", "invalidFormat"),
        ("source", "has space", "invalidFormat"),
        ("type", "payments.transfer.request", "invalidFormat"),
        ("type", "Payments.transfer.request.v1", "invalidFormat"),
        ("type", "payments.transfer.request.v0", "invalidFormat"),
        ("type", "payments.transfer.request.v01", "invalidFormat"),
        ("type", "1payments.transfer.request.v1", "invalidFormat"),
        ("time", "2026-05-01T08:30:00", "invalidFormat"),  // no offset
        ("time", "2026-05-01 08:30:00Z", "invalidFormat"),
        ("time", "2026-05-01T08:30:00z", "invalidFormat"),
        ("time", "2026-02-30T08:30:00Z", "invalidValue"),
        ("time", "2026-05-01T24:00:00Z", "invalidValue"),
        ("time", "2026-05-01T08:30:00+0800", "invalidFormat"),
        ("datacontenttype", "text/plain", "invalidValue"),
        ("dataschema", "schemas/relative.json", "invalidFormat"),
        ("data", "a string", "wrongType"),
        ("data", JSONValue.array([1, 2]), "wrongType"),
        ("data", .null, "wrongType"),
        ("correlationid", "123", "invalidFormat"),
        ("causationid", .bool(true), "wrongType"),
        ("enterpriseid", "91320500MA1Q7H2K3B", "checkFailed"),
        ("enterpriseid", "91320500ma1q7h2k3a", "invalidFormat"),
        ("partnerid", "Acme", "invalidFormat"),
        ("partnerid", "-acme", "invalidFormat"),
        ("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7", "invalidFormat"),
        ("traceparent", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", "invalidFormat"),
        ("traceparent", "00-00000000000000000000000000000000-00f067aa0ba902b7-01", "invalidValue"),
        ("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", "invalidValue"),
    ])
    func refused(_ key: String, _ value: JSONValue, _ code: String) {
        let error = firstError(with(key, value))
        #expect(error?.code.description == code)
        #expect(error?.pointer == "/\(key)")
    }

    @Test("Unknown attributes are refused as unknownField at their pointer (strict)")
    func unknownAttribute() {
        let error = firstError(with("corelationid", "5f0c6a8e-2b1d-4c3e-8f7a-9b0c1d2e3f40"))
        #expect(error?.code == .unknownField)
        #expect(error?.pointer == "/corelationid")
        #expect(firstError(with("a/b", "x"))?.pointer == "/a~1b")
    }

    @Test("Several problems are all reported; an unsupported specversion comes first")
    func severalErrors() {
        var object = with("specversion", "0.3")
        object["id"] = nil
        object["x-extra"] = "1"
        do {
            _ = try decode(object)
            Issue.record("accepted")
        } catch {
            #expect(error.errors.map(\.pointer) == ["/specversion", "/id", "/x-extra"])
        }
    }

    @Test("Malformed, non-object, oversized and too deep inputs")
    func malformedInputs() {
        func first(_ bytes: [UInt8], limits: Envelope.Limits = Envelope.Limits()) -> ValidationError? {
            do {
                _ = try Envelope.decode(bytes: bytes, limits: limits)
                return nil
            } catch { return error.first }
        }
        let truncated = Array(JSONValue.object(validEnvelope).canonicalBytes().dropLast(10))
        let error = first(truncated)
        #expect(error?.code == .malformedJSON)
        #expect(error?.pointer == "")
        #expect(error?.message.contains("line 1") == true)
        #expect(first(Array("[]".utf8))?.code == .wrongType)
        #expect(first(JSONValue.object(validEnvelope).canonicalBytes(), limits: Envelope.Limits(maximumBytes: 100))?.code
            == .tooLarge)
        var deep: JSONValue = "x"
        for _ in 0..<70 { deep = ["k": deep] }
        #expect(first(JSONValue.object(with("data", deep)).canonicalBytes())?.code == .tooLarge)
    }

    @Test("Interpolating or dumping an envelope never shows the payload")
    func envelopeDescriptionIsLogSafe() throws {
        let secretAccount = "32050188000000000001"
        let envelope = try decode(with("data", ["payee": ["account": .string(secretAccount)]]))
        var dumped = ""
        dump(envelope, to: &dumped)
        for rendering in ["\(envelope)", String(reflecting: envelope), dumped] {
            #expect(!rendering.contains(secretAccount))
            #expect(rendering.contains("01936f4e-8a3b-7c2d-9e1f-0a1b2c3d4e5f"))
        }
    }

    @Test("Error messages never echo the offending value")
    func logSafe() {
        let secret = "91320500MA1Q7H2K3B"
        let error = firstError(with("enterpriseid", .string(secret)))
        #expect(error.map { !$0.description.contains(secret) && !$0.debugDescription.contains(secret) } == true)
    }

    @Test("decodeData maps payload failures under /data (amount as a JSON number → wrongType)")
    func typedPayload() throws {
        struct Payload: Codable { var amount: Money }
        #expect(try decode(validEnvelope).decodeData(as: Payload.self).amount.amountString == "1234.50")
        let numeric = try decode(with("data", ["amount": ["amount": .number(JSONNumber(text: "1234.5")!), "currency": "CNY"]]))
        do {
            _ = try numeric.decodeData(as: Payload.self)
            Issue.record("accepted a number amount")
        } catch {
            #expect(error.code == .wrongType)
            #expect(error.pointer == "/data/amount/amount")
        }
        let badCurrency = try decode(with("data", ["amount": ["amount": "1.00", "currency": "CNH"]]))
        do {
            _ = try badCurrency.decodeData(as: Payload.self)
            Issue.record("accepted CNH")
        } catch {
            #expect(error.code == .invalidValue)
            #expect(error.pointer == "/data/amount/currency")
            #expect(error.rule == "R-ID-10")
        }
        let missing = try decode(with("data", [:]))
        do {
            _ = try missing.decodeData(as: Payload.self)
            Issue.record("accepted a payload without amount")
        } catch {
            #expect(error.code == .missingField)
            #expect(error.pointer == "/data/amount")
        }
        // Unknown members are refused, at any depth, as the payload schemas' additionalProperties: false does.
        let extra = try decode(with("data", ["amount": ["amount": "1.00", "currency": "CNY", "rate": "1"], "memo": "x"]))
        do {
            _ = try extra.decodeData(as: Payload.self)
            Issue.record("accepted unknown members")
        } catch {
            #expect(error.code == .unknownField)
            #expect(error.pointer == "/data/amount/rate")
        }
    }

    @Test("AMQP properties mirror id, type, correlationid and time; a caused message keeps the flow")
    func transport() throws {
        var object = validEnvelope
        object["correlationid"] = nil
        let command = try decode(object)
        let properties = command.messageProperties
        #expect(properties.messageID == "01936f4e-8a3b-7c2d-9e1f-0a1b2c3d4e5f")
        #expect(properties.type == "payments.transfer.request.v1")
        #expect(properties.correlationID == properties.messageID)  // the command starts the flow
        #expect(properties.timestamp == 1_777_624_200)
        #expect(properties.persistent)
        #expect(command.routingKey == "payments.transfer.request")
        let event = try Envelope(
            causedBy: command, source: "urn:huitong:svc:payments", type: MessageType("payments.transfer.accepted.v1"),
            dataSchema: "https://huitong.example.com/s.json", data: [:])
        #expect(event.causationID == command.id.uuid)
        #expect(event.correlationID == command.id.uuid)
        #expect(event.enterpriseID == command.enterpriseID)
        #expect(event.partnerID == nil)
        #expect(event.id != command.id)
        let next = try Envelope(
            causedBy: event, source: "urn:huitong:adp:interbank", type: MessageType("interbank.transfer.sent.v1"),
            dataSchema: "https://huitong.example.com/s.json", data: [:])
        #expect(next.correlationID == command.id.uuid)
        #expect(next.messageProperties.correlationID == properties.messageID)
    }

    @Test("The initializer validates source and dataschema")
    func initializer() throws {
        let type = try MessageType("payments.transfer.accepted.v1")
        let envelope = try Envelope(source: "urn:huitong:svc:payments", type: type,
                                    dataSchema: "https://huitong.example.com/s.json", data: [:])
        #expect(try Envelope.decode(bytes: envelope.encode()) == envelope)
        #expect(throws: ValidationError.self) {
            try Envelope(source: "", type: type, dataSchema: "https://x.example/s.json", data: [:])
        }
        #expect(throws: ValidationError.self) {
            try Envelope(source: "/x", type: type, dataSchema: "relative", data: [:])
        }
    }
}

@Suite("MessageID (UUID version 7) and MessageType")
struct MessageIDTests {
    @Test("Generated ids have version 7, variant 10, the clock's millisecond, and strictly increase")
    func generation() throws {
        let instant = Date(timeIntervalSince1970: 1_795_348_800.123)
        let generator = MessageID.Generator(now: { instant })
        var previous: MessageID?
        for _ in 0..<5000 {  // more than 4096 in one millisecond: forces a counter overflow
            let id = generator.next()
            let bytes = id.uuid.uuid
            #expect(bytes.6 >> 4 == 7)
            #expect(bytes.8 >> 6 == 0b10)
            #expect(try MessageID(id.description) == id)
            if let previous { #expect(previous < id) }
            previous = id
        }
        let first = generator.next()
        #expect(first.date.timeIntervalSince1970 >= 1_795_348_800.123)
        let later = MessageID.Generator(now: { instant.addingTimeInterval(1) }).next()
        #expect(later.date.timeIntervalSince1970 == 1_795_348_801.123)
        #expect(MessageID.Generator(now: { instant }).next().date.timeIntervalSince1970 == 1_795_348_800.123)
    }

    @Test("One generator shared by concurrent tasks gives unique ids")
    func concurrentGeneration() async {
        let generator = MessageID.Generator()
        let ids = await withTaskGroup(of: [MessageID].self) { group in
            for _ in 0..<8 {
                group.addTask { (0..<2000).map { _ in generator.next() } }
            }
            var all: [MessageID] = []
            for await batch in group {
                #expect(batch == batch.sorted())  // increasing within each task
                all += batch
            }
            return all
        }
        #expect(Set(ids).count == 16_000)
    }

    @Test("A clock that goes backwards does not make ids go backwards")
    func backwardsClock() {
        final class Clock: Sendable {
            let times: [Date]
            let index = Mutex(0)
            init(_ times: [Date]) { self.times = times }
            func now() -> Date { index.withLock { i in defer { i += 1 }; return times[min(i, times.count - 1)] } }
        }
        let clock = Clock([Date(timeIntervalSince1970: 2000), Date(timeIntervalSince1970: 1000)])
        let generator = MessageID.Generator(now: { clock.now() })
        let a = generator.next()
        let b = generator.next()
        #expect(a < b)
    }

    @Test("Parsing checks version and variant")
    func parsing() {
        #expect((try? MessageID("01936f4e-8a3b-7c2d-9e1f-0a1b2c3d4e5f")) != nil)
        #expect((try? MessageID("01936f4e-8a3b-7c2d-cafe-0a1b2c3d4e5f")) == nil)  // variant 110
        #expect((try? MessageID("01936f4e-8a3b-1c2d-9e1f-0a1b2c3d4e5f")) == nil)  // version 1
        #expect((try? MessageID("{01936f4e-8a3b-7c2d-9e1f-0a1b2c3d4e5f}")) == nil)
        #expect((try? MessageID(uuid: UUID())) == nil)  // Foundation makes version 4
    }

    @Test("MessageType exposes its parts and the routing key")
    func messageType() throws {
        let type = try MessageType("payments.transfer-batch.request.v12")
        #expect(type.domain == "payments")
        #expect(type.aggregate == "transfer-batch")
        #expect(type.verb == "request")
        #expect(type.version == 12)
        #expect(type.routingKey == "payments.transfer-batch.request")
        #expect(try MessageType(domain: "fx", aggregate: "quota", verb: "checked", version: 1).value == "fx.quota.checked.v1")
        for bad in ["payments.transfer.v1", "payments..request.v1", "a.b.c.d.v1", "a.b.c.1", "a.b.c.v", "a.b_c.d.v1",
                    "a.b.c.V1", "a.b.c.v-1", ""] {
            #expect(throws: ValidationError.self, "\(bad)") { try MessageType(bad) }
        }
    }

    @Test("Timestamp formats instants in UTC with milliseconds and parses offsets")
    func timestamps() throws {
        let stamp = Timestamp(Date(timeIntervalSince1970: 1_777_624_200.25))
        #expect(stamp.text == "2026-05-01T08:30:00.250Z")
        #expect(try Timestamp(rfc3339: "2026-05-01T16:30:00.25+08:00").date == stamp.date)
        #expect(try Timestamp(rfc3339: "1969-12-31T23:59:59Z").date == Date(timeIntervalSince1970: -1))
        #expect(Timestamp(Date(timeIntervalSince1970: -0.5)).text == "1969-12-31T23:59:59.500Z")
        #expect(try Timestamp(rfc3339: "2024-02-29T00:00:00-05:30").date.timeIntervalSince1970 == 1_709_184_600)
    }
}
