import Foundation
import HubCore

/// Load-time check of one schema document: every keyword supported, every keyword value well-formed.
struct SchemaChecker {
    let document: String
    let patterns: PatternCache

    func fail(_ code: SchemaError.Code, _ pointer: String, _ message: String) -> SchemaError {
        SchemaError(code, document: document, schemaPointer: pointer, message: message)
    }

    func check(_ schema: JSONValue, pointer: String, isRoot: Bool = false) throws(SchemaError) {
        if case .bool = schema { return }
        guard case .object(let object) = schema else {
            throw fail(.invalidKeywordValue, pointer, "a schema is an object or a boolean")
        }
        for member in object {
            let key = member.key
            let value = member.value
            let at = JSONPointer.appending(pointer, key)
            guard SchemaRegistry.supportedKeywords.contains(key) else {
                throw fail(.unsupportedKeyword, at, "the keyword is not in the supported 2020-12 subset; see SchemaRegistry")
            }
            switch key {
            case "$schema":
                guard isRoot, value.stringValue == SchemaRegistry.draft202012 else {
                    throw fail(.invalidKeywordValue, at, "$schema must be \(SchemaRegistry.draft202012), at the root only")
                }
            case "$id":
                guard isRoot else { throw fail(.unsupportedKeyword, at, "embedded $id is not supported; use $defs") }
            case "$ref":
                guard let reference = value.stringValue, URISyntax.isURIReference(reference) else {
                    throw fail(.invalidKeywordValue, at, "$ref is a URI-reference string")
                }
                if let fragment = SchemaRegistry.split(reference).1, !fragment.isEmpty, !fragment.hasPrefix("/") {
                    throw fail(.unsupportedKeyword, at, "anchor fragments are not supported; use a JSON pointer")
                }
            case "$defs", "properties":
                guard case .object(let children) = value else { throw fail(.invalidKeywordValue, at, "\(key) is an object of schemas") }
                for child in children { try check(child.value, pointer: JSONPointer.appending(at, child.key)) }
            case "patternProperties":
                guard case .object(let children) = value else { throw fail(.invalidKeywordValue, at, "\(key) is an object of schemas") }
                for child in children {
                    guard patterns.regex(child.key) != nil else {
                        throw fail(.invalidPattern, JSONPointer.appending(at, child.key), "the pattern does not compile")
                    }
                    try check(child.value, pointer: JSONPointer.appending(at, child.key))
                }
            case "additionalProperties", "items", "not", "if", "then", "else":
                try check(value, pointer: at)
            case "allOf", "anyOf", "oneOf", "prefixItems":
                guard case .array(let children) = value, !children.isEmpty else {
                    throw fail(.invalidKeywordValue, at, "\(key) is a non-empty array of schemas")
                }
                for (index, child) in children.enumerated() { try check(child, pointer: JSONPointer.appending(at, String(index))) }
            case "type":
                let names: [JSONValue]
                switch value {
                case .string: names = [value]
                case .array(let array) where !array.isEmpty: names = array
                default: throw fail(.invalidKeywordValue, at, "type is a type name or a non-empty array of them")
                }
                for name in names {
                    guard let name = name.stringValue, SchemaRegistry.typeNames.contains(name) else {
                        throw fail(.invalidKeywordValue, at, "unknown type name")
                    }
                }
            case "enum":
                guard case .array(let array) = value, !array.isEmpty else {
                    throw fail(.invalidKeywordValue, at, "enum is a non-empty array")
                }
            case "required":
                guard case .array(let array) = value, array.allSatisfy({ $0.stringValue != nil }) else {
                    throw fail(.invalidKeywordValue, at, "required is an array of strings")
                }
            case "minItems", "maxItems", "minLength", "maxLength":
                guard case .number(let number) = value, let int = number.intValue, int >= 0 else {
                    throw fail(.invalidKeywordValue, at, "\(key) is a non-negative integer")
                }
            case "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum":
                guard case .number(let number) = value, number.decimalValue != nil else {
                    throw fail(.invalidKeywordValue, at, "\(key) is a number")
                }
            case "pattern":
                guard let pattern = value.stringValue, patterns.regex(pattern) != nil else {
                    throw fail(.invalidPattern, at, "the pattern does not compile")
                }
            case "format":
                guard let format = value.stringValue, SchemaRegistry.supportedFormats.contains(format) else {
                    throw fail(.unsupportedFormat, at, "supported formats: date-time, uuid, uri, uri-reference")
                }
            default:
                break  // const, annotations: any value
            }
        }
    }
}

/// Evaluates an instance against a schema, collecting errors.
struct SchemaValidator {
    let registry: SchemaRegistry
    var errors: [ValidationError] = []

    static let maximumDepth = 256

    init(registry: SchemaRegistry) { self.registry = registry }

    mutating func report(_ code: ValidationError.Code, _ pointer: String, _ keyword: String, _ message: String) {
        errors.append(ValidationError(code, pointer: pointer, rule: keyword, message: message))
    }

    /// Whether the instance is valid, without keeping its errors.
    func isValid(_ instance: JSONValue, schema: JSONValue, base: String, pointer: String, depth: Int) -> Bool {
        var probe = SchemaValidator(registry: registry)
        probe.validate(instance, schema: schema, base: base, pointer: pointer, depth: depth)
        return probe.errors.isEmpty
    }

    mutating func validate(_ instance: JSONValue, schema: JSONValue, base: String, pointer: String, depth: Int) {
        guard depth < Self.maximumDepth else {
            report(.invalidValue, pointer, "$ref", "schema recursion is too deep")
            return
        }
        switch schema {
        case .bool(true): return
        case .bool(false):
            report(.invalidValue, pointer, "false", "no value is allowed here")
            return
        case .object(let keywords):
            validate(instance, keywords: keywords, base: base, pointer: pointer, depth: depth)
        default:
            return  // rejected at load time
        }
    }

    mutating func validate(_ instance: JSONValue, keywords schema: JSONObject, base: String, pointer: String, depth: Int) {
        if case .string(let reference)? = schema["$ref"] {
            if let (documentURI, target) = registry.resolve(reference, base: base) {
                validate(instance, schema: target, base: documentURI, pointer: pointer, depth: depth + 1)
            } else {
                report(.invalidValue, pointer, "$ref", "the schema reference does not resolve")
            }
        }

        if let type = schema["type"] {
            let names = type.arrayValue?.compactMap(\.stringValue) ?? [type.stringValue ?? ""]
            if !names.contains(where: { Self.matchesType(instance, $0) }) {
                report(.wrongType, pointer, "type", "expected \(names.joined(separator: " or ")), found \(instance.typeName)")
                return  // the other assertions would only repeat the type error
            }
        }
        if case .array(let allowed)? = schema["enum"], !allowed.contains(where: { Self.equal($0, instance) }) {
            report(.invalidValue, pointer, "enum", "the value is not one of the allowed values")
        }
        if let constant = schema["const"], !Self.equal(constant, instance) {
            report(.invalidValue, pointer, "const", "the value is not the required constant")
        }

        switch instance {
        case .string(let string):
            validateString(string, schema: schema, pointer: pointer)
        case .number(let number):
            validateNumber(number, schema: schema, pointer: pointer)
        case .object(let object):
            validateObject(object, schema: schema, base: base, pointer: pointer, depth: depth)
        case .array(let array):
            validateArray(array, schema: schema, base: base, pointer: pointer, depth: depth)
        default:
            break
        }

        if case .array(let subschemas)? = schema["allOf"] {
            for subschema in subschemas { validate(instance, schema: subschema, base: base, pointer: pointer, depth: depth + 1) }
        }
        if case .array(let subschemas)? = schema["anyOf"],
           !subschemas.contains(where: { isValid(instance, schema: $0, base: base, pointer: pointer, depth: depth + 1) })
        {
            report(.invalidValue, pointer, "anyOf", "the value matches none of the allowed alternatives")
        }
        if case .array(let subschemas)? = schema["oneOf"] {
            let matches = subschemas.filter { isValid(instance, schema: $0, base: base, pointer: pointer, depth: depth + 1) }.count
            if matches != 1 {
                report(.invalidValue, pointer, "oneOf", "the value matches \(matches) alternatives; exactly one is required")
            }
        }
        if let negated = schema["not"], isValid(instance, schema: negated, base: base, pointer: pointer, depth: depth + 1) {
            report(.invalidValue, pointer, "not", "the value matches a schema it must not match")
        }
        if let condition = schema["if"] {
            if isValid(instance, schema: condition, base: base, pointer: pointer, depth: depth + 1) {
                if let then = schema["then"] { validate(instance, schema: then, base: base, pointer: pointer, depth: depth + 1) }
            } else if let otherwise = schema["else"] {
                validate(instance, schema: otherwise, base: base, pointer: pointer, depth: depth + 1)
            }
        }
    }

    mutating func validateString(_ string: String, schema: JSONObject, pointer: String) {
        let length = string.unicodeScalars.count
        if let minimum = schema["minLength"].flatMap(Self.int), length < minimum {
            report(.invalidFormat, pointer, "minLength", "the string is shorter than \(minimum) characters")
        }
        if let maximum = schema["maxLength"].flatMap(Self.int), length > maximum {
            report(.invalidFormat, pointer, "maxLength", "the string is longer than \(maximum) characters")
        }
        if let pattern = schema["pattern"]?.stringValue, !registry.patterns.matches(pattern, string) {
            report(.invalidFormat, pointer, "pattern", "the string does not match the required pattern")
        }
        if let format = schema["format"]?.stringValue, !Self.matchesFormat(format, string) {
            report(.invalidFormat, pointer, "format", "the string is not a valid \(format)")
        }
    }

    mutating func validateNumber(_ number: JSONNumber, schema: JSONObject, pointer: String) {
        guard let value = number.decimalValue else { return }
        func bound(_ key: String) -> Decimal? {
            if case .number(let limit)? = schema[key] { limit.decimalValue } else { nil }
        }
        if let limit = bound("minimum"), value < limit {
            report(.invalidValue, pointer, "minimum", "the number is below the minimum \(limit)")
        }
        if let limit = bound("maximum"), value > limit {
            report(.invalidValue, pointer, "maximum", "the number is above the maximum \(limit)")
        }
        if let limit = bound("exclusiveMinimum"), value <= limit {
            report(.invalidValue, pointer, "exclusiveMinimum", "the number must be greater than \(limit)")
        }
        if let limit = bound("exclusiveMaximum"), value >= limit {
            report(.invalidValue, pointer, "exclusiveMaximum", "the number must be less than \(limit)")
        }
    }

    mutating func validateObject(_ object: JSONObject, schema: JSONObject, base: String, pointer: String, depth: Int) {
        if case .array(let required)? = schema["required"] {
            for name in required.compactMap(\.stringValue) where object[name] == nil {
                report(.missingField, JSONPointer.appending(pointer, name), "required", "a required member is missing")
            }
        }
        let properties = schema["properties"]?.objectValue
        let patternProperties = schema["patternProperties"]?.objectValue
        for member in object {
            let child = JSONPointer.appending(pointer, member.key)
            var evaluated = false
            if let subschema = properties?[member.key] {
                evaluated = true
                validate(member.value, schema: subschema, base: base, pointer: child, depth: depth + 1)
            }
            for patternMember in patternProperties ?? JSONObject() where registry.patterns.matches(patternMember.key, member.key) {
                evaluated = true
                validate(member.value, schema: patternMember.value, base: base, pointer: child, depth: depth + 1)
            }
            if !evaluated, let additional = schema["additionalProperties"] {
                if case .bool(false) = additional {
                    report(.unknownField, child, "additionalProperties", "the member is not allowed here")
                } else {
                    validate(member.value, schema: additional, base: base, pointer: child, depth: depth + 1)
                }
            }
        }
    }

    mutating func validateArray(_ array: [JSONValue], schema: JSONObject, base: String, pointer: String, depth: Int) {
        if let minimum = schema["minItems"].flatMap(Self.int), array.count < minimum {
            report(.invalidValue, pointer, "minItems", "the array has fewer than \(minimum) items")
        }
        if let maximum = schema["maxItems"].flatMap(Self.int), array.count > maximum {
            report(.invalidValue, pointer, "maxItems", "the array has more than \(maximum) items")
        }
        let prefix = schema["prefixItems"]?.arrayValue ?? []
        for (index, element) in array.enumerated() {
            let child = JSONPointer.appending(pointer, String(index))
            if index < prefix.count {
                validate(element, schema: prefix[index], base: base, pointer: child, depth: depth + 1)
            } else if let items = schema["items"] {
                if case .bool(false) = items {
                    report(.unknownField, child, "items", "no items are allowed beyond the prefix")
                } else {
                    validate(element, schema: items, base: base, pointer: child, depth: depth + 1)
                }
            }
        }
    }

    static func int(_ value: JSONValue) -> Int? {
        if case .number(let number) = value { number.intValue } else { nil }
    }

    static func matchesType(_ instance: JSONValue, _ name: String) -> Bool {
        switch (name, instance) {
        case ("null", .null), ("boolean", .bool), ("object", .object), ("array", .array), ("string", .string),
             ("number", .number):
            return true
        case ("integer", .number(let number)):
            guard let value = number.decimalValue else { return false }
            var input = value
            var rounded = Decimal()
            NSDecimalRound(&rounded, &input, 0, .plain)
            return rounded == value
        default:
            return false
        }
    }

    /// JSON Schema equality: numbers by value, objects regardless of member order.
    static func equal(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case (.bool(let x), .bool(let y)): return x == y
        case (.string(let x), .string(let y)): return x == y
        case (.number(let x), .number(let y)): return x.text == y.text || (x.decimalValue != nil && x.decimalValue == y.decimalValue)
        case (.array(let x), .array(let y)): return x.count == y.count && zip(x, y).allSatisfy { equal($0, $1) }
        case (.object(let x), .object(let y)):
            return x.count == y.count && x.allSatisfy { member in y[member.key].map { equal(member.value, $0) } ?? false }
        default: return false
        }
    }

    static func matchesFormat(_ format: String, _ string: String) -> Bool {
        switch format {
        case "date-time": return (try? Timestamp(rfc3339: string)) != nil
        case "uuid": return UUIDText.parse(string.lowercased()) != nil
        case "uri": return URISyntax.isAbsoluteURI(string)
        case "uri-reference": return URISyntax.isURIReference(string)
        default: return false
        }
    }
}
