public import Foundation
public import HubContracts
public import HubCore

/// Validates a submitted message against the contracts: strict envelope decoding, the envelope schema, the payload
/// schema of its type (from `contracts/schemas/<domain>/<aggregate>-<verb>.v<N>.schema.json`) and, where the hub has
/// one, the typed payload decoder (checks JSON Schema cannot express, such as check characters).
public struct ContractValidator: Sendable {
    /// The `$id` prefix of every schema.
    public static let schemaBase = "https://huitong.example.com/contracts/schemas/"

    let registry: SchemaRegistry
    let limits: Envelope.Limits

    /// Loads the schemas.
    /// - Parameters:
    ///   - contractsDirectory: The folder holding `schemas/`.
    ///   - maximumBytes: The largest envelope (default 1 MiB).
    /// - Throws: `SchemaError` when a schema does not load.
    public init(contractsDirectory: URL, maximumBytes: Int = 1 << 20) throws(SchemaError) {
        self.registry = try SchemaRegistry.load(directory: contractsDirectory.appendingPathComponent("schemas")).registry
        self.limits = Envelope.Limits(maximumBytes: maximumBytes)
    }

    /// The payload schema URI of a type.
    /// - Parameter type: The message type.
    /// - Returns: `<base><domain>/<aggregate>-<verb>.v<N>.schema.json`.
    public static func schemaID(for type: MessageType) -> String {
        "\(schemaBase)\(type.domain)/\(type.aggregate)-\(type.verb).v\(type.version).schema.json"
    }

    /// Whether the contracts define a type.
    /// - Parameter type: The type.
    /// - Returns: Whether its payload schema is loaded.
    public func knows(_ type: MessageType) -> Bool { registry.contains(Self.schemaID(for: type)) }

    /// Decodes the envelope strictly (no schema yet).
    /// - Parameter bytes: The body.
    /// - Returns: The envelope and its parsed JSON.
    /// - Throws: ``GatewayProblem`` 422 with each error's pointer and rule.
    public func decode(_ bytes: [UInt8]) throws(GatewayProblem) -> (envelope: Envelope, json: JSONValue) {
        let value: JSONValue
        do {
            value = try JSONValue.parse(
                bytes, limits: JSONValue.Limits(maximumBytes: limits.maximumBytes, maximumDepth: limits.maximumDepth))
        } catch {
            let error = Envelope.validationError(from: error)
            throw .invalid("malformed-json", error.rule, "the body is not a JSON document: \(error.message)", errors: [error])
        }
        do {
            return (try Envelope.decode(value), value)
        } catch {
            throw .invalid(
                "envelope-invalid", error.first.rule, "the body is not a valid CloudEvents envelope: \(error.first.message)",
                errors: error.errors)
        }
    }

    /// Validates the decoded envelope against its contract.
    /// - Parameters:
    ///   - envelope: The envelope.
    ///   - json: Its parsed JSON.
    /// - Throws: ``GatewayProblem`` 422: `type-unknown` (GW-CONTRACT-1), `dataschema-mismatch` (GW-CONTRACT-2), or
    ///   `contract-violation` with the schema keyword or hub rule that failed.
    public func validate(_ envelope: Envelope, json: JSONValue) throws(GatewayProblem) {
        let schemaID = Self.schemaID(for: envelope.type)
        guard registry.contains(schemaID) else {
            throw .invalid(
                "type-unknown", "GW-CONTRACT-1", "no contract defines the message type \(envelope.type.value)",
                errors: [
                    ValidationError(
                        .invalidValue, pointer: "/type", rule: "GW-CONTRACT-1",
                        message: "no contract defines this message type")
                ])
        }
        guard envelope.dataSchema == schemaID else {
            throw .invalid(
                "dataschema-mismatch", "GW-CONTRACT-2", "dataschema must be the contract of the type: \(schemaID)",
                errors: [
                    ValidationError(
                        .invalidValue, pointer: "/dataschema", rule: "GW-CONTRACT-2",
                        message: "dataschema must be \(schemaID)")
                ])
        }
        var errors: [ValidationError] = []
        do {
            errors += try registry.validate(json, against: ContractChecker.envelopeSchemaID)
            if let data = json["data"] {
                errors += try registry.validate(data, against: schemaID, pointer: "/data")
            }
        } catch {
            throw .invalid("contract-unavailable", "GW-CONTRACT-1", "the contract could not be applied", errors: [])
        }
        if let first = errors.first {
            throw .invalid(
                "contract-violation", first.rule, "the message violates its contract at \(first.pointer)", errors: errors)
        }
        if let decoder = ContractChecker.builtInPayloadDecoders[envelope.type.value] {
            do {
                try decoder(envelope)
            } catch {
                throw .invalid(
                    "contract-violation", error.rule, "the message violates its contract at \(error.pointer)",
                    errors: [error])
            }
        }
    }
}
