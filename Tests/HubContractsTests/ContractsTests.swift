import Foundation
import HubContracts
import HubCore
import PaymentsService
import Testing

/// `<repo>/contracts`, located from this file.
let contractsDirectory = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("contracts")

func exampleFiles(_ folder: String) -> [String] {
    let directory = contractsDirectory.appendingPathComponent("examples/\(folder)")
    return ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [])
        .filter { $0.hasSuffix(".json") && !$0.hasSuffix(".expect.json") }
        .sorted()
}

func readBytes(_ relative: String) throws -> [UInt8] {
    let url = contractsDirectory.appendingPathComponent(relative)
    return Array(try #require(FileManager.default.contents(atPath: url.path), "cannot read \(relative)"))
}

/// The typed payload decoders: HubContracts' own plus the domains' (as `HubApp.ContractsCheck` merges them).
let payloadDecoders: [String: ContractChecker.PayloadDecoder] = ContractChecker.builtInPayloadDecoders
    .merging(PaymentsContracts.payloadDecoders) { own, _ in own }

let loadedSchemas: SchemaRegistry? = try? SchemaRegistry.load(directory: contractsDirectory.appendingPathComponent("schemas")).registry

@Suite("contracts/: examples against the Swift decoder and the JSON Schemas")
struct ContractsTests {
    @Test("The contracts have at least 4 valid and 10 invalid examples, each invalid one with a sidecar")
    func inventory() throws {
        #expect(exampleFiles("valid").count >= 4)
        let invalid = exampleFiles("invalid")
        #expect(invalid.count >= 10)
        for name in invalid {
            let sidecar = name.replacingOccurrences(of: ".json", with: ".expect.json")
            #expect(FileManager.default.fileExists(
                atPath: contractsDirectory.appendingPathComponent("examples/invalid/\(sidecar)").path), "\(sidecar)")
        }
    }

    @Test("Every schema loads (2020-12 subset, every $ref resolves)")
    func schemasLoad() throws {
        let (registry, files) = try SchemaRegistry.load(directory: contractsDirectory.appendingPathComponent("schemas"))
        #expect(files.count >= 5)
        #expect(registry.contains(ContractChecker.envelopeSchemaID))
    }

    @Test("(a) Every valid example decodes into Envelope, re-encodes, and the re-encoding validates against the schemas",
          arguments: exampleFiles("valid"))
    func validExample(_ file: String) throws {
        let registry = try #require(loadedSchemas)
        let bytes = try readBytes("examples/valid/\(file)")
        let envelope = try Envelope.decode(bytes: bytes)
        // Every example's payload has a typed Swift counterpart, and it accepts the payload.
        let payloadDecoder = try #require(payloadDecoders[envelope.type.value], "no Swift payload type for \(envelope.type)")
        try payloadDecoder(envelope)
        let reencoded = envelope.encode()
        #expect(try Envelope.decode(bytes: reencoded) == envelope)
        // Canonical bytes are a fixed point: parsing the source and serialising canonically gives the same bytes.
        #expect(try JSONValue.parse(bytes).canonicalBytes() == reencoded)
        let value = try JSONValue.parse(reencoded)
        #expect(try registry.validate(value, against: ContractChecker.envelopeSchemaID) == [])
        let dataErrors = try registry.validate(.object(envelope.data), against: envelope.dataSchema, pointer: "/data")
        #expect(dataErrors == [])
    }

    @Test("(b) Every invalid example is refused by the Swift decoder and by the schemas at its .expect.json pointer",
          arguments: exampleFiles("invalid"))
    func invalidExample(_ file: String) throws {
        let registry = try #require(loadedSchemas)
        let bytes = try readBytes("examples/invalid/\(file)")
        let expect = try JSONValue.parse(try readBytes("examples/invalid/" + file.replacingOccurrences(of: ".json", with: ".expect.json")))
        let pointer = try #require(expect["pointer"]?.stringValue)
        let code = try #require(expect["code"]?.stringValue.flatMap(ValidationError.Code.init(name:)))
        let schemaRefuses = expect["schemaRefuses"] != .bool(false)

        // Swift: the envelope decoder, then the typed payload where one exists.
        var swiftError: ValidationError?
        do {
            let envelope = try Envelope.decode(bytes: bytes)
            if let payloadDecoder = payloadDecoders[envelope.type.value] {
                try payloadDecoder(envelope)
            }
        } catch let errors as ValidationErrors {
            swiftError = errors.first
        } catch let error as ValidationError {
            swiftError = error
        }
        #expect(swiftError?.pointer == pointer)
        #expect(swiftError?.code == code)
        if let rule = expect["rule"]?.stringValue { #expect(swiftError?.rule == rule) }

        // Schema: parse, envelope schema, payload schema.
        var schemaErrors: [ValidationError] = []
        do {
            let value = try JSONValue.parse(bytes)
            schemaErrors = try registry.validate(value, against: ContractChecker.envelopeSchemaID)
            if case .string(let dataSchema)? = value["dataschema"], let data = value["data"],
               data.objectValue != nil
            {
                schemaErrors += try registry.validate(data, against: dataSchema, pointer: "/data")
            }
        } catch let error as JSONParseError {
            schemaErrors = [ValidationError(.malformedJSON, rule: "RFC8259", message: error.description)]
        }
        if schemaRefuses {
            #expect(schemaErrors.contains { $0.pointer == pointer }, "schema errors: \(schemaErrors)")
        } else {
            // Documented limitation (e.g. the R-ID-2 check character): the schema cannot see it.
            #expect(schemaErrors.isEmpty)
        }
    }

    @Test("ContractChecker passes on contracts/ with one line per example, schema set and AsyncAPI document")
    func checkerPasses() {
        let report = ContractChecker(configuration: .init(payloadDecoders: payloadDecoders))
            .check(contractsDirectory: contractsDirectory)
        #expect(report.isSuccess, "\(report)")
        #expect(report.entries.count == 2 + exampleFiles("valid").count + exampleFiles("invalid").count)
        #expect(report.lines.last?.hasSuffix("0 failed") == true)
        #expect(report.entries.allSatisfy { !$0.description.contains("\n") })
    }

    @Test("asyncapi.json is AsyncAPI 3.0.0 and names exactly the hub's four exchanges with their types")
    func asyncAPI() throws {
        let document = try JSONValue.parse(try readBytes("asyncapi.json"))
        #expect(document["asyncapi"]?.stringValue == "3.0.0")
        var exchanges: [String: String] = [:]
        for channel in document["channels"]?.objectValue ?? JSONObject() {
            let exchange = channel.value["bindings"]?["amqp"]?["exchange"]
            if let name = exchange?["name"]?.stringValue { exchanges[name] = exchange?["type"]?.stringValue }
        }
        #expect(exchanges == Dictionary(uniqueKeysWithValues: Topology.hubExchanges.map { ($0.name, $0.kind.description) }))
        #expect(document["servers"]?["local"]?["host"]?.stringValue == "127.0.0.1:5673")
    }

    @Test("The checker fails a broken contracts copy: wrong exchange type, accepted invalid example, bad schema")
    func checkerFailsBrokenCopy() throws {
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("contracts-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: copy) }
        try FileManager.default.copyItem(at: contractsDirectory, to: copy)
        // 1. hub.retry declared as topic instead of direct.
        let asyncAPI = copy.appendingPathComponent("asyncapi.json")
        let text = try String(contentsOf: asyncAPI, encoding: .utf8)
        try text.replacingOccurrences(of: "\"direct\"", with: "\"topic\"")
            .replacingOccurrences(of: "schemas/envelope.schema.json", with: "schemas/missing.schema.json")
            .write(to: asyncAPI, atomically: true, encoding: .utf8)
        // 2. An "invalid" example that is actually valid.
        try FileManager.default.copyItem(
            at: copy.appendingPathComponent("examples/valid/minimal.json"),
            to: copy.appendingPathComponent("examples/invalid/not-really-invalid.json"))
        try Data(#"{"pointer": "/id", "code": "invalidFormat"}"#.utf8)
            .write(to: copy.appendingPathComponent("examples/invalid/not-really-invalid.expect.json"))
        let report = ContractChecker(configuration: .init(payloadDecoders: payloadDecoders)).check(contractsDirectory: copy)
        #expect(!report.isSuccess)
        let failed = report.entries.filter { !$0.passed }.map(\.name)
        #expect(failed == ["asyncapi.json", "examples/invalid/not-really-invalid.json"])
        let asyncAPIProblems = report.entries.first { $0.name == "asyncapi.json" }?.problems ?? []
        #expect(asyncAPIProblems.count == 2, "\(asyncAPIProblems)")
        #expect(asyncAPIProblems.contains { $0.contains("hub.retry") && $0.contains("direct") })
        #expect(asyncAPIProblems.contains { $0.contains("does not exist") })

        // 3. An unsupported keyword in a schema fails the schema entry.
        let common = copy.appendingPathComponent("schemas/hub/heartbeat-ping.v1.schema.json")
        let schema = try String(contentsOf: common, encoding: .utf8)
        try schema.replacingOccurrences(of: "\"additionalProperties\"", with: "\"unevaluatedProperties\"")
            .write(to: common, atomically: true, encoding: .utf8)
        let second = ContractChecker(configuration: .init(payloadDecoders: payloadDecoders)).check(contractsDirectory: copy)
        #expect(second.entries.first?.passed == false)
        #expect(second.entries.first?.problems.first?.contains("unsupportedKeyword") == true)
    }
}
