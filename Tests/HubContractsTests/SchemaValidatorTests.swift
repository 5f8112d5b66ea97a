import HubContracts
import HubCore
import Testing

let testBase = "https://tests.example/schemas/"

/// A registry holding one inline schema (`$id` = testBase + name) plus optional siblings.
func registry(_ schema: String, name: String = "s.json", siblings: [String: String] = [:]) throws -> SchemaRegistry {
    var registry = SchemaRegistry()
    for (siblingName, text) in siblings {
        try registry.add(try JSONValue.parse(withID(text, testBase + siblingName)), origin: siblingName)
    }
    try registry.add(try JSONValue.parse(withID(schema, testBase + name)), origin: name)
    try registry.checkReferences()
    return registry
}

func withID(_ schema: String, _ id: String) -> String {
    "{\"$id\":\"\(id)\"," + schema.dropFirst()
}

func errors(_ schema: String, _ instance: String, siblings: [String: String] = [:]) throws -> [ValidationError] {
    try registry(schema, siblings: siblings).validate(try JSONValue.parse(instance), against: testBase + "s.json")
}

func loadError(_ schema: String) -> SchemaError? {
    do {
        _ = try registry(schema)
        return nil
    } catch let error as SchemaError {
        return error
    } catch {
        return nil
    }
}

@Suite("JSON Schema 2020-12 subset validator")
struct SchemaValidatorTests {
    /// (schema, valid instance, invalid instance, pointer, keyword, code)
    static let keywordCases: [(String, String, String, String, String, String)] = [
        (#"{"type":"string"}"#, #""x""#, "1", "", "type", "wrongType"),
        (#"{"type":["string","null"]}"#, "null", "true", "", "type", "wrongType"),
        (#"{"type":"integer"}"#, "1.0", "1.5", "", "type", "wrongType"),
        (#"{"enum":["a",1]}"#, "1.0", #""b""#, "", "enum", "invalidValue"),
        (#"{"const":{"a":[1,2]}}"#, #"{"a":[1,2.0]}"#, #"{"a":[2,1]}"#, "", "const", "invalidValue"),
        (#"{"required":["a"]}"#, #"{"a":1}"#, #"{"b":1}"#, "/a", "required", "missingField"),
        (#"{"properties":{"a":{"type":"string"}}}"#, #"{"a":"x"}"#, #"{"a":1}"#, "/a", "type", "wrongType"),
        (#"{"properties":{"a":true},"additionalProperties":false}"#, #"{"a":1}"#, #"{"a":1,"b/c":2}"#, "/b~1c",
         "additionalProperties", "unknownField"),
        (#"{"additionalProperties":{"type":"number"}}"#, #"{"a":1}"#, #"{"a":"x"}"#, "/a", "type", "wrongType"),
        (#"{"patternProperties":{"^x-":{"type":"string"}},"additionalProperties":false}"#, #"{"x-a":"1"}"#,
         #"{"x-a":1}"#, "/x-a", "type", "wrongType"),
        (#"{"items":{"type":"string"}}"#, #"["a","b"]"#, #"["a",2]"#, "/1", "type", "wrongType"),
        (#"{"prefixItems":[{"type":"string"}],"items":false}"#, #"["a"]"#, #"["a","b"]"#, "/1", "items", "unknownField"),
        (#"{"minItems":2}"#, "[1,2]", "[1]", "", "minItems", "invalidValue"),
        (#"{"maxItems":1}"#, "[1]", "[1,2]", "", "maxItems", "invalidValue"),
        (#"{"minLength":2}"#, #""汇通""#, #""汇""#, "", "minLength", "invalidFormat"),
        (#"{"maxLength":2}"#, #""汇通""#, #""汇通!""#, "", "maxLength", "invalidFormat"),
        (#"{"pattern":"^[0-9]{3}$"}"#, #""123""#, #""12a""#, "", "pattern", "invalidFormat"),
        (#"{"pattern":"[0-9]"}"#, #""a1b""#, #""ab""#, "", "pattern", "invalidFormat"),
        (#"{"format":"date-time"}"#, #""2026-05-01T08:30:00+08:00""#, #""2026-05-01T08:30:00""#, "", "format", "invalidFormat"),
        (#"{"format":"uuid"}"#, #""5f0c6a8e-2b1d-4c3e-8f7a-9b0c1d2e3f40""#, #""5f0c6a8e""#, "", "format", "invalidFormat"),
        (#"{"format":"uri"}"#, #""https://a.example/x""#, #""/relative""#, "", "format", "invalidFormat"),
        (#"{"format":"uri-reference"}"#, #""/relative?x=1""#, #""has space""#, "", "format", "invalidFormat"),
        (#"{"minimum":0.01}"#, "0.01", "0.00999999999999999999", "", "minimum", "invalidValue"),
        (#"{"maximum":100}"#, "1e2", "100.0000000000000000001", "", "maximum", "invalidValue"),
        (#"{"exclusiveMinimum":0}"#, "0.1", "0", "", "exclusiveMinimum", "invalidValue"),
        (#"{"exclusiveMaximum":1}"#, "0.9", "1", "", "exclusiveMaximum", "invalidValue"),
        (##"{"$defs":{"d":{"type":"string"}},"$ref":"#/$defs/d"}"##, #""x""#, "1", "", "type", "wrongType"),
        (#"{"allOf":[{"type":"string"},{"minLength":2}]}"#, #""ab""#, #""a""#, "", "minLength", "invalidFormat"),
        (#"{"anyOf":[{"type":"string"},{"type":"number"}]}"#, "1", "null", "", "anyOf", "invalidValue"),
        (#"{"oneOf":[{"type":"number"},{"type":"integer"}]}"#, "1.5", "1", "", "oneOf", "invalidValue"),
        (#"{"not":{"const":"CNH"}}"#, #""CNY""#, #""CNH""#, "", "not", "invalidValue"),
        (#"{"if":{"properties":{"k":{"const":"card"}}},"then":{"required":["pan"]},"else":{"required":["acct"]}}"#,
         #"{"k":"card","pan":"1"}"#, #"{"k":"bank","pan":"1"}"#, "/acct", "required", "missingField"),
        ("false", "", "1", "", "false", "invalidValue"),
    ]

    @Test("Each keyword: accepted instance, refused instance with pointer, keyword and code", arguments: keywordCases)
    func keyword(_ schema: String, _ valid: String, _ invalid: String, _ pointer: String, _ keyword: String,
                 _ code: String) throws {
        let schemaText = schema == "false" ? #"{"not":true}"# : schema
        if !valid.isEmpty { #expect(try errors(schemaText, valid) == []) }
        let found = try errors(schemaText, invalid)
        let expectedKeyword = schema == "false" ? "not" : keyword
        #expect(found.first?.pointer == pointer, "\(found)")
        #expect(found.first?.rule == expectedKeyword, "\(found)")
        #expect(found.first?.code.description == code, "\(found)")
    }

    @Test("$ref to a sibling document resolves by relative path, including ../")
    func siblingReference() throws {
        let common = #"{"$defs":{"money":{"type":"object","required":["amount"],"properties":{"amount":{"type":"string"}}}}}"#
        let schema = #"{"properties":{"m":{"$ref":"common.json#/$defs/money"}}}"#
        #expect(try errors(schema, #"{"m":{"amount":"1.00"}}"#, siblings: ["common.json": common]) == [])
        let found = try errors(schema, #"{"m":{"amount":1}}"#, siblings: ["common.json": common])
        #expect(found.map(\.pointer) == ["/m/amount"])
        var nested = SchemaRegistry()
        try nested.add(try JSONValue.parse(withID(common, testBase + "common.json")), origin: "common.json")
        try nested.add(
            try JSONValue.parse(withID(#"{"$ref":"../common.json#/$defs/money"}"#, testBase + "payments/p.json")),
            origin: "payments/p.json")
        try nested.checkReferences()
        #expect(try nested.validate(try JSONValue.parse(#"{}"#), against: testBase + "payments/p.json").map(\.pointer)
            == ["/amount"])
    }

    static let loadCases: [(String, String)] = [
        (#"{"unevaluatedProperties":false}"#, "unsupportedKeyword"),
        (#"{"properties":{"a":{"dependentRequired":{}}}}"#, "unsupportedKeyword"),
        (#"{"$anchor":"x"}"#, "unsupportedKeyword"),
        (#"{"format":"email"}"#, "unsupportedFormat"),
        (#"{"pattern":"([a-z"}"#, "invalidPattern"),
        (##"{"$ref":"#/$defs/missing"}"##, "unresolvedReference"),
        (#"{"$ref":"other.json"}"#, "unresolvedReference"),
        (#"{"required":"a"}"#, "invalidKeywordValue"),
        (#"{"type":"text"}"#, "invalidKeywordValue"),
        (#"{"minLength":-1}"#, "invalidKeywordValue"),
        (#"{"$schema":"http://json-schema.org/draft-07/schema#"}"#, "invalidKeywordValue"),
        (#"{"$defs":{"x":{"$id":"https://x.example/y"}}}"#, "unsupportedKeyword"),
    ]

    @Test("Unsupported keywords, formats, bad patterns and dangling refs fail at load time", arguments: loadCases)
    func loadErrors(_ schema: String, _ code: String) {
        let error = loadError(schema)
        #expect(error?.code.description == code, "\(String(describing: error))")
    }

    @Test("A document without an absolute $id, or with a duplicate one, is refused")
    func ids() throws {
        var registry = SchemaRegistry()
        #expect(throws: SchemaError.self) { try registry.add(try JSONValue.parse(#"{"type":"string"}"#), origin: "a.json") }
        #expect(throws: SchemaError.self) { try registry.add(try JSONValue.parse(#"{"$id":"a.json"}"#), origin: "a.json") }
        try registry.add(try JSONValue.parse(#"{"$id":"https://x.example/a.json"}"#), origin: "a.json")
        #expect(throws: SchemaError.self) {
            try registry.add(try JSONValue.parse(#"{"$id":"https://x.example/a.json"}"#), origin: "b.json")
        }
    }

    @Test("Validation errors never echo the instance value")
    func logSafe() throws {
        let found = try errors(#"{"pattern":"^[0-9]{18}$"}"#, #""6212261234567890129X""#)
        #expect(found.count == 1)
        #expect(!found[0].description.contains("6212261234567890129"))
    }
}
