import Foundation

extension Envelope {
    /// Decodes and validates an envelope from its JSON bytes.
    ///
    /// Checks, in order: size, JSON well-formedness (strict parser), that the top level is an object, then each
    /// attribute in ``attributeNames`` order, then that no unknown attribute is present. Every problem found is
    /// reported, first the most specific (an unsupported `specversion` comes first, since nothing else can be
    /// trusted then).
    /// - Parameters:
    ///   - bytes: The envelope's JSON bytes.
    ///   - limits: Size and nesting limits (default 1 MiB, 64 levels).
    /// - Returns: The envelope.
    /// - Throws: `ValidationErrors`, each error with the attribute's pointer (`/id`, `/data`, …).
    public static func decode(bytes: some Collection<UInt8>, limits: Limits = Limits()) throws(ValidationErrors)
        -> Envelope
    {
        guard bytes.count <= limits.maximumBytes else {
            throw ValidationErrors(
                ValidationError(
                    .tooLarge, rule: "envelope-size",
                    message: "the envelope is larger than the \(limits.maximumBytes)-byte limit"))
        }
        let value: JSONValue
        do {
            value = try JSONValue.parse(
                bytes, limits: JSONValue.Limits(maximumBytes: limits.maximumBytes, maximumDepth: limits.maximumDepth))
        } catch {
            throw ValidationErrors(validationError(from: error))
        }
        return try decode(value)
    }

    /// Validates an already parsed envelope (see ``decode(bytes:limits:)``).
    /// - Parameter value: The parsed JSON.
    /// - Returns: The envelope.
    /// - Throws: `ValidationErrors`.
    public static func decode(_ value: JSONValue) throws(ValidationErrors) -> Envelope {
        guard case .object(let object) = value else {
            throw ValidationErrors(
                ValidationError(.wrongType, rule: "CE-structured", message: "an envelope is a JSON object"))
        }
        var reader = AttributeReader(object: object)

        let specVersion = reader.string("specversion", rule: "CE-specversion")
        if let specVersion, specVersion != Envelope.specVersion {
            reader.errors.insert(
                ValidationError(
                    .invalidValue, pointer: "/specversion", rule: "CE-specversion",
                    message: "specversion must be \"1.0\" (CloudEvents 1.0)"),
                at: 0)
        }
        let id = reader.parse("id", rule: "CE-id") { (s: String) throws(ValidationError) in try MessageID(s) }
        let source = reader.parse("source", rule: "CE-source") { (s: String) throws(ValidationError) in
            try Envelope.checkSource(s)
            return s
        }
        let type = reader.parse("type", rule: "CE-type") { (s: String) throws(ValidationError) in try MessageType(s) }
        let time = reader.parse("time", rule: "CE-time") { (s: String) throws(ValidationError) in
            try Timestamp(rfc3339: s)
        }
        _ = reader.parse("datacontenttype", rule: "CE-datacontenttype") { (s: String) throws(ValidationError) in
            guard s == Envelope.dataContentType else {
                throw ValidationError(
                    .invalidValue, rule: "CE-datacontenttype", message: "datacontenttype must be \"application/json\"")
            }
            return s
        }
        let dataSchema = reader.parse("dataschema", rule: "CE-dataschema") { (s: String) throws(ValidationError) in
            try Envelope.checkDataSchema(s)
            return s
        }
        var data: JSONObject?
        switch object["data"] {
        case nil:
            reader.errors.append(
                ValidationError(.missingField, pointer: "/data", rule: "CE-data", message: "data is required"))
        case .object(let payload):
            data = payload
        case .some(let other):
            reader.errors.append(
                ValidationError(
                    .wrongType, pointer: "/data", rule: "CE-data",
                    message: "data must be a JSON object, not a \(other.typeName)"))
        }
        let correlationID = reader.parse("correlationid", rule: "CE-correlationid", required: false) {
            (s: String) throws(ValidationError) in try Envelope.uuid(s, rule: "CE-correlationid")
        }
        let causationID = reader.parse("causationid", rule: "CE-causationid", required: false) {
            (s: String) throws(ValidationError) in try Envelope.uuid(s, rule: "CE-causationid")
        }
        let enterpriseID = reader.parse("enterpriseid", rule: "CE-enterpriseid", required: false) {
            (s: String) throws(ValidationError) in try USCC(s)
        }
        let partnerID = reader.parse("partnerid", rule: "CE-partnerid", required: false) {
            (s: String) throws(ValidationError) in try PartnerID(s)
        }
        let traceParent = reader.parse("traceparent", rule: "CE-traceparent", required: false) {
            (s: String) throws(ValidationError) in try TraceParent(s)
        }
        let known = Set(Envelope.attributeNames)
        for key in object.keys where !known.contains(key) {
            reader.errors.append(
                ValidationError(
                    .unknownField, pointer: JSONPointer.appending("", key), rule: "CE-strict",
                    message: "the envelope has an attribute the hub does not define; unknown attributes are refused"))
        }

        if let errors = ValidationErrors(reader.errors) { throw errors }
        guard let id, let source, let type, let time, let dataSchema, let data else {
            throw ValidationErrors(
                ValidationError(.missingField, rule: "CE-required", message: "a required attribute is missing"))
        }
        do {
            return try Envelope(
                id: id, source: source, type: type, time: time, dataSchema: dataSchema, data: data,
                correlationID: correlationID, causationID: causationID, enterpriseID: enterpriseID,
                partnerID: partnerID, traceParent: traceParent)
        } catch {
            throw ValidationErrors(error)
        }
    }

    /// Maps a JSON parse error to a validation error: `tooLarge` for the size and depth limits, `malformedJSON`
    /// otherwise. The message gives the reason and line, column and byte offset, never the input.
    /// - Parameter error: The parse error.
    /// - Returns: The validation error (pointer `""`).
    public static func validationError(from error: JSONParseError) -> ValidationError {
        let code: ValidationError.Code =
            error.reason == .tooLarge || error.reason == .nestingTooDeep ? .tooLarge : .malformedJSON
        return ValidationError(code, rule: "RFC8259", message: error.description)
    }

    static func uuid(_ string: String, rule: String) throws(ValidationError) -> UUID {
        guard let uuid = UUIDText.parse(string) else {
            throw ValidationError(
                .invalidFormat, rule: rule, message: "the value must be a UUID in lowercase canonical form")
        }
        return uuid
    }
}

/// Reads string attributes from the envelope object, collecting errors with their pointers.
private struct AttributeReader {
    let object: JSONObject
    var errors: [ValidationError] = []

    mutating func string(_ name: String, rule: String, required: Bool = true) -> String? {
        let pointer = JSONPointer.appending("", name)
        switch object[name] {
        case nil:
            if required {
                errors.append(
                    ValidationError(.missingField, pointer: pointer, rule: rule, message: "\(name) is required"))
            }
            return nil
        case .string(let value):
            return value
        case .some(let other):
            errors.append(
                ValidationError(
                    .wrongType, pointer: pointer, rule: rule,
                    message: "\(name) must be a JSON string, not a \(other.typeName)"))
            return nil
        }
    }

    mutating func parse<T>(
        _ name: String, rule: String, required: Bool = true, _ make: (String) throws(ValidationError) -> T
    ) -> T? {
        guard let text = string(name, rule: rule, required: required) else { return nil }
        do {
            return try make(text)
        } catch {
            var located = error
            located.pointer = JSONPointer.appending("", name)
            errors.append(located)
            return nil
        }
    }
}
