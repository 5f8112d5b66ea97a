public import Foundation
public import HubCore

/// Checks a contracts directory: every schema loads, `asyncapi.json` names the hub's exchanges, every valid example
/// is accepted and every invalid example is refused for the documented reason, by both the Swift decoder and the
/// schema validator.
///
/// Layout read (see contracts/README.md):
/// - `schemas/**/*.json`: JSON Schema 2020-12 documents; each `$id` must end with the file's path under `schemas/`,
///   so that relative `$ref`s and the file tree agree.
/// - `asyncapi.json`: AsyncAPI 3.0.0; its channels' AMQP bindings must declare exactly ``Topology/hubExchanges``.
/// - `examples/valid/*.json`: envelopes that must be accepted.
/// - `examples/invalid/<name>.json` with `<name>.expect.json` = `{"pointer": "/id", "code": "invalidFormat"}` and
///   optionally `"schemaRefuses": false` for a rule JSON Schema cannot express (the checker then verifies that the
///   schema indeed accepts it, so the note cannot go stale).
public struct ContractChecker: Sendable {
    /// Decodes and validates the payload of one message type; throws the first problem, pointer under `/data`.
    public typealias PayloadDecoder = @Sendable (Envelope) throws(ValidationError) -> Void

    /// Checker settings.
    public struct Configuration: Sendable {
        /// Typed payload decoders by message type (e.g. `payments.transfer.request.v1`). Default: the payloads
        /// defined in this module (``HeartbeatPing``);
        /// the composition root adds the domains' (`HubApp.ContractsCheck`).
        public var payloadDecoders: [String: PayloadDecoder]
        /// The `$id` of the envelope schema. Default
        /// `https://huitong.example.com/contracts/schemas/envelope.schema.json`.
        public var envelopeSchemaID: String

        /// Creates a configuration.
        /// - Parameters:
        ///   - payloadDecoders: Typed payload decoders by message type (default: this module's payloads).
        ///   - envelopeSchemaID: The envelope schema's `$id` (default: the hub's).
        public init(
            payloadDecoders: [String: PayloadDecoder] = ContractChecker.builtInPayloadDecoders,
            envelopeSchemaID: String = ContractChecker.envelopeSchemaID
        ) {
            self.payloadDecoders = payloadDecoders
            self.envelopeSchemaID = envelopeSchemaID
        }
    }

    /// The hub's envelope schema `$id`.
    public static let envelopeSchemaID = "https://huitong.example.com/contracts/schemas/envelope.schema.json"

    /// The payload decoders this module provides (the domains' payloads live in their modules, which this module
    /// must not import; `HubApp.ContractsCheck` merges them in).
    public static let builtInPayloadDecoders: [String: PayloadDecoder] = [
        HeartbeatPing.messageType: decoding(HeartbeatPing.self),
        // The interbank and e-CNY adapters' messages (Payloads/AdapterPayloads.swift).
        CreditTransferSubmit.messageType: decoding(CreditTransferSubmit.self),
        CreditTransferStatusQuery.messageType: decoding(CreditTransferStatusQuery.self),
        AccountReportRequest.messageType: decoding(AccountReportRequest.self),
        ECNYTransferSubmit.messageType: decoding(ECNYTransferSubmit.self),
        ECNYStatusQuery.messageType: decoding(ECNYStatusQuery.self),
        CreditTransferStatusReported.messageType: decoding(CreditTransferStatusReported.self),
        AccountReportReceived.statementType: decoding(AccountReportReceived.self),
        AccountReportReceived.intradayType: decoding(AccountReportReceived.self),
        ECNYTransferAccepted.messageType: decoding(ECNYTransferAccepted.self),
        ECNYTransferSettled.messageType: decoding(ECNYTransferSettled.self),
        ECNYTransferRejected.messageType: decoding(ECNYTransferRejected.self),
        // Compliance's messages and its provisional inputs (Payloads/CompliancePayloads.swift).
        CompliancePayloads.ScreeningCleared.messageType: compliance,
        CompliancePayloads.HoldPlaced.messageType: compliance,
        CompliancePayloads.HoldReleased.messageType: compliance,
        CompliancePayloads.HoldRejected.messageType: compliance,
        CompliancePayloads.FindingRaised.messageType: compliance,
        CompliancePayloads.LargeValueReport.messageType: compliance,
        CompliancePayloads.HoldReviewed.messageType: compliance,
        CompliancePayloads.TransactionBooked.messageType: compliance,
        CompliancePayloads.WalletCredit.messageType: compliance,
        CompliancePayloads.RedPacketPayout.messageType: compliance,
        CompliancePayloads.FXRequest.messageTypes[0]: compliance,
        CompliancePayloads.FXRequest.messageTypes[1]: compliance,
        // The gateway's events.
        RequestRefused.messageType: decoding(RequestRefused.self),
        AuditUnmasked.messageType: decoding(AuditUnmasked.self),
    ]

    /// A decoder that checks a payload decodes strictly as `type`.
    public static func decoding<Payload: Codable>(_ type: Payload.Type) -> PayloadDecoder {
        { (envelope: Envelope) throws(ValidationError) in _ = try envelope.decodeData(as: type) }
    }

    private static let compliance: PayloadDecoder = { (envelope: Envelope) throws(ValidationError) in
        try CompliancePayloads.validate(envelope)
    }

    /// The settings.
    public let configuration: Configuration

    /// Creates a checker.
    /// - Parameter configuration: Settings (default: built-in payloads, the hub's envelope schema).
    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// Checks a contracts directory. Never throws: every problem becomes a failed entry in the report.
    /// - Parameter contractsDirectory: The directory holding `schemas/`, `examples/` and `asyncapi.json`.
    /// - Returns: The report, one entry per schema set, AsyncAPI document and example.
    public func check(contractsDirectory: URL) -> Report {
        var entries: [Report.Entry] = []
        let schemasDirectory = contractsDirectory.appendingPathComponent("schemas")
        var registry: SchemaRegistry?
        do {
            let (loaded, files) = try SchemaRegistry.load(directory: schemasDirectory)
            var problems: [String] = []
            for (id, file) in files.sorted(by: { $0.key < $1.key }) where !id.hasSuffix("/" + file) {
                problems.append("$id of schemas/\(file) does not end with its path under schemas/")
            }
            if !loaded.contains(configuration.envelopeSchemaID) {
                problems.append("no schema has the envelope $id \(configuration.envelopeSchemaID)")
            }
            entries.append(Report.Entry(kind: .schemas, name: "schemas/ (\(files.count) documents)", problems: problems))
            registry = loaded
        } catch {
            entries.append(Report.Entry(kind: .schemas, name: "schemas/", problems: [error.description]))
        }

        entries.append(checkAsyncAPI(contractsDirectory.appendingPathComponent("asyncapi.json")))

        let examples = contractsDirectory.appendingPathComponent("examples")
        let validFiles = Self.files(in: examples.appendingPathComponent("valid"))
        let invalidFiles = Self.files(in: examples.appendingPathComponent("invalid")).filter { !$0.hasSuffix(".expect.json") }
        if validFiles.isEmpty || invalidFiles.isEmpty {
            entries.append(Report.Entry(kind: .example, name: "examples/", problems: ["examples/valid and examples/invalid must both hold examples"]))
        }
        for file in validFiles {
            entries.append(checkValid(examples.appendingPathComponent("valid/" + file), name: "examples/valid/" + file, registry: registry))
        }
        for file in invalidFiles {
            entries.append(checkInvalid(examples.appendingPathComponent("invalid/" + file), name: "examples/invalid/" + file, registry: registry))
        }
        return Report(entries: entries)
    }

    // MARK: Examples

    /// The Swift side: envelope decoding, then the typed payload if a decoder is registered.
    func swiftDecode(_ bytes: [UInt8]) -> Result<Envelope, ValidationError> {
        let envelope: Envelope
        do {
            envelope = try Envelope.decode(bytes: bytes)
        } catch {
            return .failure(error.first)
        }
        if let decoder = configuration.payloadDecoders[envelope.type.value] {
            do {
                try decoder(envelope)
            } catch {
                return .failure(error)
            }
        }
        return .success(envelope)
    }

    /// The schema side: parse, envelope schema, then the payload schema named by `dataschema`.
    func schemaValidate(_ bytes: [UInt8], registry: SchemaRegistry) -> [ValidationError] {
        let value: JSONValue
        do {
            value = try JSONValue.parse(bytes)
        } catch {
            return [Envelope.validationError(from: error)]
        }
        var errors: [ValidationError]
        do {
            errors = try registry.validate(value, against: configuration.envelopeSchemaID)
        } catch {
            return [ValidationError(.invalidValue, rule: "$ref", message: error.description)]
        }
        if case .string(let dataSchema)? = value["dataschema"], let data = value["data"], data.objectValue != nil {
            if registry.contains(dataSchema) {
                errors += (try? registry.validate(data, against: dataSchema, pointer: "/data")) ?? []
            } else {
                errors.append(
                    ValidationError(
                        .invalidValue, pointer: "/dataschema", rule: "dataschema",
                        message: "the payload schema is not in contracts/schemas"))
            }
        }
        return errors
    }

    func checkValid(_ url: URL, name: String, registry: SchemaRegistry?) -> Report.Entry {
        guard let bytes = Self.read(url) else { return Report.Entry(kind: .example, name: name, problems: ["cannot read the file"]) }
        var problems: [String] = []
        switch swiftDecode(bytes) {
        case .failure(let error):
            problems.append("swift refused it: \(error)")
        case .success(let envelope):
            // Re-encode and validate the hub's own bytes, which are what partners receive.
            let reencoded = envelope.encode()
            if let registry {
                for error in schemaValidate(reencoded, registry: registry) { problems.append("schema refused the re-encoded envelope: \(error)") }
            }
            if case .failure(let error) = swiftDecode(reencoded) { problems.append("swift refused its own encoding: \(error)") }
        }
        if let registry, problems.isEmpty {
            for error in schemaValidate(bytes, registry: registry) { problems.append("schema refused it: \(error)") }
        }
        if registry == nil { problems.append("not checked against the schemas (they failed to load)") }
        return Report.Entry(kind: .example, name: name, problems: problems)
    }

    func checkInvalid(_ url: URL, name: String, registry: SchemaRegistry?) -> Report.Entry {
        guard let bytes = Self.read(url) else { return Report.Entry(kind: .example, name: name, problems: ["cannot read the file"]) }
        let expectURL = url.deletingPathExtension().appendingPathExtension("expect.json")
        guard let expectBytes = Self.read(expectURL), let expect = try? JSONValue.parse(expectBytes),
              let pointer = expect["pointer"]?.stringValue, let codeName = expect["code"]?.stringValue,
              let code = ValidationError.Code(name: codeName)
        else {
            return Report.Entry(
                kind: .example, name: name,
                problems: ["missing or malformed sidecar \(expectURL.lastPathComponent): needs {\"pointer\", \"code\"} with a known code"])
        }
        let schemaRefuses = expect["schemaRefuses"] != .bool(false)
        var problems: [String] = []
        var notes: [String] = []
        switch swiftDecode(bytes) {
        case .success:
            problems.append("swift accepted it; expected \(code) at \(pointer.isEmpty ? "/" : pointer)")
        case .failure(let error) where error.pointer != pointer || error.code != code:
            problems.append("swift refused it for another reason: \(error); expected \(code) at \(pointer.isEmpty ? "/" : pointer)")
        case .failure:
            notes.append("refused: \(code) at \(pointer.isEmpty ? "/" : pointer)")
        }
        if let registry {
            let errors = schemaValidate(bytes, registry: registry)
            let matching = errors.first { $0.pointer == pointer }
            if schemaRefuses {
                if matching != nil {
                    notes.append("by both the decoder and the schema")
                } else if errors.isEmpty {
                    problems.append("the schema accepted it; expected a refusal at \(pointer.isEmpty ? "/" : pointer)")
                } else {
                    problems.append("the schema refused it elsewhere: \(errors[0]); expected \(pointer.isEmpty ? "/" : pointer)")
                }
            } else if errors.isEmpty {
                notes.append("by the decoder only, as documented (not expressible in JSON Schema)")
            } else {
                problems.append("the sidecar says the schema cannot refuse it, but it does: \(errors[0]); update the sidecar")
            }
        } else {
            problems.append("not checked against the schemas (they failed to load)")
        }
        return Report.Entry(kind: .example, name: name, problems: problems, notes: notes)
    }

    // MARK: AsyncAPI

    func checkAsyncAPI(_ url: URL) -> Report.Entry {
        let name = "asyncapi.json"
        guard let bytes = Self.read(url) else { return Report.Entry(kind: .asyncAPI, name: name, problems: ["cannot read the file"]) }
        let document: JSONValue
        do {
            document = try JSONValue.parse(bytes)
        } catch {
            return Report.Entry(kind: .asyncAPI, name: name, problems: ["not JSON: \(error)"])
        }
        var problems: [String] = []
        if document["asyncapi"]?.stringValue != "3.0.0" { problems.append("\"asyncapi\" must be \"3.0.0\"") }
        var declared: [String: (kind: String, durable: Bool?)] = [:]
        for channel in document["channels"]?.objectValue ?? JSONObject() {
            guard let amqp = channel.value["bindings"]?["amqp"], amqp["is"]?.stringValue == "routingKey",
                  let exchange = amqp["exchange"]
            else { continue }
            guard let exchangeName = exchange["name"]?.stringValue, let kind = exchange["type"]?.stringValue else {
                problems.append("channel \(channel.key): bindings.amqp.exchange needs a name and a type")
                continue
            }
            if channel.value["address"]?.stringValue != exchangeName {
                problems.append("channel \(channel.key): address differs from its exchange name")
            }
            if case .bool(let durable)? = exchange["durable"] {
                declared[exchangeName] = (kind, durable)
            } else {
                declared[exchangeName] = (kind, nil)
            }
        }
        let expected = Dictionary(uniqueKeysWithValues: Topology.hubExchanges.map { ($0.name, $0) })
        for (exchangeName, exchange) in expected.sorted(by: { $0.key < $1.key }) {
            guard let found = declared[exchangeName] else {
                problems.append("exchange \(exchangeName) is missing")
                continue
            }
            if found.kind != exchange.kind.description {
                problems.append("exchange \(exchangeName) has type \(found.kind); the hub declares \(exchange.kind)")
            }
            if found.durable != exchange.durable {
                problems.append("exchange \(exchangeName) must say durable: \(exchange.durable)")
            }
        }
        for exchangeName in declared.keys.sorted() where expected[exchangeName] == nil {
            problems.append("exchange \(exchangeName) is not one of the hub's exchanges")
        }
        // Every reference to another file (e.g. the envelope schema) must name a file that exists.
        var references: [(String, String)] = []
        SchemaRegistry.collectReferences(document, pointer: "", into: &references)
        let directory = url.deletingLastPathComponent()
        for (pointer, reference) in references where !reference.hasPrefix("#") {
            let file = SchemaRegistry.split(reference).0
            if !FileManager.default.fileExists(atPath: directory.appendingPathComponent(file).path) {
                problems.append("$ref at \(pointer) names a file that does not exist")
            }
        }
        return Report.Entry(kind: .asyncAPI, name: name, problems: problems)
    }

    // MARK: Files

    static func files(in directory: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [])
            .filter { $0.hasSuffix(".json") }
            .sorted()
    }

    static func read(_ url: URL) -> [UInt8]? {
        FileManager.default.contents(atPath: url.path).map { Array($0) }
    }
}

extension ContractChecker {
    /// The result of a check: one entry per schema set, AsyncAPI document and example.
    public struct Report: Sendable, CustomStringConvertible {
        /// What an entry checked.
        public struct Kind: Sendable, Hashable, CustomStringConvertible {
            private enum Base: String, Sendable, Hashable { case schemas, asyncAPI = "asyncapi", example }
            private let base: Base
            private init(_ base: Base) { self.base = base }
            /// The schema documents.
            public static let schemas = Kind(.schemas)
            /// The AsyncAPI document.
            public static let asyncAPI = Kind(.asyncAPI)
            /// One example.
            public static let example = Kind(.example)
            /// The kind's name.
            public var description: String { base.rawValue }
        }

        /// One checked item.
        public struct Entry: Sendable, CustomStringConvertible {
            /// What was checked.
            public var kind: Kind
            /// The path relative to the contracts directory.
            public var name: String
            /// What is wrong; empty when the item passed.
            public var problems: [String]
            /// What was observed for a passing item (e.g. the error an invalid example was refused with).
            public var notes: [String]

            /// Creates an entry.
            /// - Parameters:
            ///   - kind: What was checked.
            ///   - name: The path relative to the contracts directory.
            ///   - problems: What is wrong (empty: passed).
            ///   - notes: Observations for a passing item (default none).
            public init(kind: Kind, name: String, problems: [String], notes: [String] = []) {
                self.kind = kind
                self.name = name
                self.problems = problems
                self.notes = notes
            }

            /// Whether the item passed.
            public var passed: Bool { problems.isEmpty }

            /// One line: `PASS  examples/valid/minimal.json`, `PASS  name: refused: … by both …` or
            /// `FAIL  name: problem; problem`.
            public var description: String {
                if !passed { return "FAIL  \(name): \(problems.joined(separator: "; "))" }
                return notes.isEmpty ? "PASS  \(name)" : "PASS  \(name): \(notes.joined(separator: " "))"
            }
        }

        /// The entries, in check order.
        public var entries: [Entry]

        /// Whether every entry passed.
        public var isSuccess: Bool { entries.allSatisfy(\.passed) }

        /// One line per entry, then a summary line.
        public var lines: [String] {
            let failed = entries.filter { !$0.passed }.count
            return entries.map(\.description)
                + ["\(entries.count - failed) passed, \(failed) failed"]
        }

        /// The lines joined by newlines.
        public var description: String { lines.joined(separator: "\n") }
    }
}
