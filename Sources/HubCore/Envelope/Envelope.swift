public import Foundation

/// A hub message: a CloudEvents 1.0 event in structured JSON mode, the same bytes over HTTP, over AMQP and in the
/// audit log.
///
/// Attributes (all strings on the wire except `data`):
///
/// | Attribute | Required | Rule |
/// |---|---|---|
/// | `specversion` | yes | exactly `1.0` |
/// | `id` | yes | ``MessageID``: UUID version 7, lowercase |
/// | `source` | yes | non-empty URI-reference, at most 2048 characters |
/// | `type` | yes | ``MessageType``: `<domain>.<aggregate>.<verb>.v<N>` |
/// | `time` | yes | ``Timestamp``: RFC 3339 with an explicit offset |
/// | `datacontenttype` | yes | exactly `application/json` |
/// | `dataschema` | yes | absolute URI of the payload's JSON Schema, at most 2048 characters |
/// | `data` | yes | a JSON object |
/// | `correlationid` | no | UUID (any version), lowercase: the whole business flow |
/// | `causationid` | no | UUID (any version), lowercase: the message that caused this one |
/// | `enterpriseid` | no | ``USCC`` (R-ID-1, R-ID-2) |
/// | `partnerid` | no | ``PartnerID`` |
/// | `traceparent` | no | ``TraceParent`` (W3C, version 00) |
///
/// **Unknown attributes are refused.** CloudEvents lets producers add extensions, but the hub is the system of
/// record: every attribute it accepts is routed, audited and shown to compliance, so it must be in the contract.
/// A misspelled extension (`corelationid`) accepted silently would drop a flow from correlation queries without
/// anyone noticing. Adding an attribute is a contract change: schema, this type and the examples together.
public struct Envelope: Sendable, Hashable {
    /// The CloudEvents version the hub speaks.
    public static let specVersion = "1.0"
    /// The only data content type the hub accepts.
    public static let dataContentType = "application/json"
    /// Every attribute name the hub accepts, required ones first.
    public static let attributeNames = [
        "specversion", "id", "source", "type", "time", "datacontenttype", "dataschema", "data",
        "correlationid", "causationid", "enterpriseid", "partnerid", "traceparent",
    ]

    /// Decoding limits.
    public struct Limits: Sendable, Hashable {
        /// The largest envelope accepted, in bytes. Default 1 MiB (1 048 576).
        public var maximumBytes: Int
        /// The deepest nesting of JSON arrays and objects accepted, the envelope object included. Default 64.
        public var maximumDepth: Int

        /// Creates limits.
        /// - Parameters:
        ///   - maximumBytes: The largest envelope in bytes (default 1 MiB).
        ///   - maximumDepth: The deepest JSON nesting (default 64).
        public init(maximumBytes: Int = 1 << 20, maximumDepth: Int = 64) {
            self.maximumBytes = maximumBytes
            self.maximumDepth = maximumDepth
        }
    }

    /// The message id (`id`).
    public let id: MessageID
    /// The producer (`source`), a URI-reference such as `/partners/acme-erp` or `urn:huitong:svc:payments`.
    public let source: String
    /// The message type (`type`).
    public let type: MessageType
    /// When the occurrence happened (`time`).
    public let time: Timestamp
    /// The payload's JSON Schema (`dataschema`), an absolute URI.
    public let dataSchema: String
    /// The payload (`data`).
    public let data: JSONObject
    /// The business flow this message belongs to (`correlationid`).
    public let correlationID: UUID?
    /// The message that caused this one (`causationid`).
    public let causationID: UUID?
    /// The enterprise the message concerns (`enterpriseid`).
    public let enterpriseID: USCC?
    /// The partner that sent the message (`partnerid`).
    public let partnerID: PartnerID?
    /// The W3C trace context (`traceparent`).
    public let traceParent: TraceParent?

    /// Creates an envelope.
    /// - Parameters:
    ///   - id: The message id (default: a new one).
    ///   - source: The producer, a non-empty URI-reference.
    ///   - type: The message type.
    ///   - time: When the occurrence happened (default: now).
    ///   - dataSchema: The payload schema's absolute URI.
    ///   - data: The payload.
    ///   - correlationID: The business flow (default none).
    ///   - causationID: The causing message (default none).
    ///   - enterpriseID: The enterprise concerned (default none).
    ///   - partnerID: The sending partner (default none).
    ///   - traceParent: The trace context (default none).
    /// - Throws: `ValidationError` (`invalidFormat`) if `source` or `dataSchema` is not a valid URI.
    public init(
        id: MessageID = .generate(),
        source: String,
        type: MessageType,
        time: Timestamp = .now,
        dataSchema: String,
        data: JSONObject,
        correlationID: UUID? = nil,
        causationID: UUID? = nil,
        enterpriseID: USCC? = nil,
        partnerID: PartnerID? = nil,
        traceParent: TraceParent? = nil
    ) throws(ValidationError) {
        try Self.checkSource(source)
        try Self.checkDataSchema(dataSchema)
        self.id = id
        self.source = source
        self.type = type
        self.time = time
        self.dataSchema = dataSchema
        self.data = data
        self.correlationID = correlationID
        self.causationID = causationID
        self.enterpriseID = enterpriseID
        self.partnerID = partnerID
        self.traceParent = traceParent
    }

    /// The envelope as a JSON object (attributes in ``attributeNames`` order, absent extensions omitted).
    public var jsonValue: JSONValue {
        var object: JSONObject = [
            "specversion": .string(Self.specVersion),
            "id": .string(id.description),
            "source": .string(source),
            "type": .string(type.value),
            "time": .string(time.text),
            "datacontenttype": .string(Self.dataContentType),
            "dataschema": .string(dataSchema),
            "data": .object(data),
        ]
        if let correlationID { object["correlationid"] = .string(UUIDText.format(correlationID)) }
        if let causationID { object["causationid"] = .string(UUIDText.format(causationID)) }
        if let enterpriseID { object["enterpriseid"] = .string(enterpriseID.value) }
        if let partnerID { object["partnerid"] = .string(partnerID.value) }
        if let traceParent { object["traceparent"] = .string(traceParent.value) }
        return .object(object)
    }

    /// The canonical bytes of the envelope (see ``JSONValue/canonicalBytes()``): what is published, stored and
    /// hashed.
    /// - Returns: The canonical JSON bytes.
    public func encode() -> [UInt8] { jsonValue.canonicalBytes() }

    /// Decodes the payload into a typed value, strictly, reporting failures with a pointer under `/data`.
    ///
    /// Decodes with ``JSONValueDecoder`` straight from the parsed payload (as `JSONDecoder` would, without parsing
    /// again); types such as ``Money`` and the identifiers validate while decoding, so a JSON number where an amount
    /// string belongs is refused as `wrongType` at `/data/.../amount`. Every member of the payload that the type did
    /// not read (one it does not define, or a `null`) is refused as `unknownField` (payload schemas say
    /// `additionalProperties: false`; the Swift side must refuse what they refuse).
    /// - Parameter type: The payload type.
    /// - Returns: The decoded payload.
    /// - Throws: `ValidationError` located under `/data`.
    public func decodeData<Payload: Codable>(as type: Payload.Type) throws(ValidationError) -> Payload {
        let payload: Payload
        let unread: String?
        do {
            // Straight from the parsed tree, recording what the type reads (no re-serialisation, no re-encoding).
            (payload, unread) = try JSONValueDecoder().decodeTrackingReads(Payload.self, from: .object(data))
        } catch let error as DecodingError {
            throw Self.validationError(from: error).under("/data")
        } catch let error as ValidationError {
            throw error.under("/data")
        } catch {
            throw ValidationError(
                .invalidValue, pointer: "/data", rule: "payload", message: "the payload could not be decoded")
        }
        if let unknown = unread.map({ "/data" + $0 }) {
            throw ValidationError(
                .unknownField, pointer: unknown, rule: "payload-strict",
                message: "the payload has a member its type does not define; unknown members are refused")
        }
        return payload
    }

    /// Maps a `DecodingError` to a validation error with an RFC 6901 pointer built from the coding path.
    /// - Parameter error: The decoding error.
    /// - Returns: The validation error, pointer relative to the decoded document.
    public static func validationError(from error: DecodingError) -> ValidationError {
        func pointer(_ path: [any CodingKey]) -> String {
            path.reduce("") { JSONPointer.appending($0, $1.intValue.map(String.init) ?? $1.stringValue) }
        }
        switch error {
        case .typeMismatch(let expected, let context):
            return ValidationError(
                .wrongType, pointer: pointer(context.codingPath), rule: "type",
                message: "the value has the wrong JSON type; expected \(expectedTypeName(expected))")
        case .valueNotFound(let expected, let context):
            return ValidationError(
                .wrongType, pointer: pointer(context.codingPath), rule: "type",
                message: "the value is null; expected \(expectedTypeName(expected))")
        case .keyNotFound(let key, let context):
            return ValidationError(
                .missingField, pointer: pointer(context.codingPath + [key]), rule: "required",
                message: "a required member is missing")
        case .dataCorrupted(let context):
            if let underlying = context.underlyingError as? ValidationError {
                return underlying.under(pointer(context.codingPath))
            }
            return ValidationError(
                .invalidFormat, pointer: pointer(context.codingPath), rule: "format",
                message: "the value is not valid here")
        @unknown default:
            return ValidationError(.invalidValue, rule: "payload", message: "the payload could not be decoded")
        }
    }

    private static func expectedTypeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Bool.Type: "a boolean"
        case is Int.Type, is Int64.Type, is Double.Type, is Decimal.Type: "a number"
        case is [Any].Type: "an array"
        default: "an object"
        }
    }

    static func checkSource(_ source: String) throws(ValidationError) {
        guard !source.isEmpty, source.utf8.count <= 2048, URISyntax.isURIReference(source) else {
            throw ValidationError(
                .invalidFormat, pointer: "/source", rule: "CE-source",
                message: "source is a non-empty URI-reference (RFC 3986) of at most 2048 characters")
        }
    }

    static func checkDataSchema(_ dataSchema: String) throws(ValidationError) {
        guard dataSchema.utf8.count <= 2048, URISyntax.isAbsoluteURI(dataSchema) else {
            throw ValidationError(
                .invalidFormat, pointer: "/dataschema", rule: "CE-dataschema",
                message: "dataschema is an absolute URI (RFC 3986) of at most 2048 characters")
        }
    }
}

extension Envelope: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// A log-safe summary: id, type, source and correlation id. The payload is never included, because it holds
    /// account and ID numbers; interpolating an envelope into a log message cannot leak it.
    public var description: String {
        var text = "Envelope(id: \(id), type: \(type), source: \(source)"
        if let correlationID { text += ", correlationid: \(UUIDText.format(correlationID))" }
        return text + ")"
    }

    /// The same log-safe summary plus the payload's member count (never its content).
    public var debugDescription: String {
        String(description.dropLast()) + ", data: \(data.count) members)"
    }

    /// A mirror without the payload, so that `dump` and reflection cannot show it.
    public var customMirror: Mirror {
        Mirror(
            self,
            children: ["id": id, "type": type, "source": source, "time": time, "dataschema": dataSchema],
            displayStyle: .struct)
    }
}
