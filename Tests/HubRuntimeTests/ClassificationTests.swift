import Foundation
import HubCore
import Testing

@testable import HubRuntime

@Suite("Failure classification")
struct ClassificationTests {
    private let types: Set<String> = ["test.counter.increment.v1"]

    private func envelopeBytes(type: String = "test.counter.increment.v1", id: String? = nil, data: String = #"{"n":1}"#)
        -> [UInt8]
    {
        let idText = id ?? MessageID.generate().description
        let idMember = id == "" ? "" : #""id":"\#(idText)","#
        return Array(
            #"{"specversion":"1.0",\#(idMember)"source":"urn:test","type":"\#(type)","time":"2026-01-01T00:00:00Z","datacontenttype":"application/json","dataschema":"https://example.com/s.json","data":\#(data)}"#
                .utf8)
    }

    private func inspect(_ body: [UInt8], maximum: Int = 1 << 20, validate: (Envelope) throws -> Void = { _ in })
        -> Result<Envelope, Rejection>
    {
        Intake.inspect(
            body: body, maximumBodyBytes: maximum, limits: Envelope.Limits(), messageTypes: types, validate: validate)
    }

    private func reason(_ result: Result<Envelope, Rejection>) -> ParkReason? {
        if case .failure(let rejection) = result { return rejection.reason }
        return nil
    }

    @Test func validEnvelopeOfKnownTypePasses() throws {
        let envelope = try inspect(envelopeBytes()).get()
        #expect(envelope.type.value == "test.counter.increment.v1")
    }

    @Test func badInputMapsToPreciseReasons() {
        #expect(reason(inspect(Array("not json at all".utf8))) == .notJSON)
        #expect(reason(inspect(envelopeBytes(), maximum: 10)) == .tooLarge)
        #expect(reason(inspect(envelopeBytes(type: "test.other.thing.v1"))) == .unknownType)
        #expect(reason(inspect(envelopeBytes(id: ""))) == .missingMessageID)
        #expect(reason(inspect(envelopeBytes(id: "not-a-uuid"))) == .invalidMessageID)
        #expect(reason(inspect(Array(#"{"specversion":"1.0"}"#.utf8))) != nil)
        #expect(reason(inspect(Array("[1,2]".utf8))) == .invalidEnvelope)
    }

    @Test func aTapThatAcceptsEveryTypeGetsUnknownTypesButStillRefusesBadEnvelopes() throws {
        let other = envelopeBytes(type: "test.other.thing.v1")
        let tap = { (body: [UInt8]) in
            Intake.inspect(
                body: body, maximumBodyBytes: 1 << 20, limits: Envelope.Limits(), messageTypes: [],
                acceptsEveryType: true, validate: { _ in })
        }
        #expect(try tap(other).get().type.value == "test.other.thing.v1")
        #expect(reason(tap(Array("not json at all".utf8))) == .notJSON)
        #expect(reason(tap(envelopeBytes(id: "not-a-uuid"))) == .invalidMessageID)
        // The flag is off by default: the same message is unknown to an ordinary handler.
        #expect(reason(inspect(other)) == .unknownType)
    }

    @Test func validationErrorsFromValidateAreSchemaViolations() {
        let result = inspect(envelopeBytes()) { _ in
            throw ValidationError(.missingField, pointer: "/data/amount", rule: "required", message: "amount is required")
        }
        guard case .failure(let rejection) = result else {
            Issue.record("expected a rejection")
            return
        }
        #expect(rejection.reason == .schemaViolation)
        #expect(rejection.code == "missingField")
        #expect(rejection.message.contains("/data/amount"))
    }

    @Test func handlerErrorsAreClassified() {
        #expect(Classifier.outcome(for: HandlerFailure.transient(code: "busy", "try later")) == .transient(code: "busy", message: "try later"))
        guard case .park(let permanent) = Classifier.outcome(for: HandlerFailure.permanent(code: "refused", "no")) else {
            Issue.record("permanent failure must park")
            return
        }
        #expect(permanent.reason == .permanentFailure)
        #expect(permanent.code == "refused")
        let validation = ValidationError(.wrongType, pointer: "/data/n", rule: "type", message: "n is a number")
        guard case .park(let schema) = Classifier.outcome(for: ValidationErrors(validation)) else {
            Issue.record("validation errors must park")
            return
        }
        #expect(schema.reason == .schemaViolation)
        struct Other: Error {}
        guard case .transient = Classifier.outcome(for: Other()) else {
            Issue.record("unknown errors are transient")
            return
        }
    }

    @Test func parkReasonsRoundTripByName() throws {
        for reason in ParkReason.all {
            #expect(ParkReason(name: reason.description) == reason)
            let data = try JSONEncoder().encode(reason)
            #expect(try JSONDecoder().decode(ParkReason.self, from: data) == reason)
        }
        #expect(ParkReason(name: "nonsense") == nil)
    }
}
