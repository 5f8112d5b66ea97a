import HubCore
import Testing

@Suite("JSONValue: strict parser and canonical form")
struct JSONTests {
    @Test("Malformed inputs report the reason, byte offset and line:column", arguments: [
        // (input, reason, offset, line, column)
        ("", JSONParseError.Reason.unexpectedEnd, 0, 1, 1),
        ("{\"a\":1,}", .unexpectedCharacter, 7, 1, 8),
        ("{\"a\" 1}", .unexpectedCharacter, 5, 1, 6),
        ("[1,2", .unexpectedEnd, 4, 1, 5),
        ("{\"a\":\"abc", .unterminatedString, 5, 1, 6),
        ("\"a\\qb\"", .invalidEscape, 2, 1, 3),
        ("\"\\u12G4\"", .invalidEscape, 5, 1, 6),
        ("\"\\ud800\"", .loneSurrogate, 1, 1, 2),
        ("\"\\ud800\\u0041\"", .loneSurrogate, 1, 1, 2),
        ("\"\\udc00\"", .loneSurrogate, 1, 1, 2),
        ("{\"a\":1,\n \"a\":2}", .duplicateKey, 9, 2, 2),
        ("{} x", .trailingData, 3, 1, 4),
        ("[1]\n\n]", .trailingData, 5, 3, 1),
        ("012", .invalidNumber, 0, 1, 1),
        ("[-]", .invalidNumber, 1, 1, 2),
        ("1.", .invalidNumber, 0, 1, 1),
        ("+1", .unexpectedCharacter, 0, 1, 1),
        ("\"tab\there\"", .controlCharacterInString, 4, 1, 5),
        ("tru", .unexpectedEnd, 3, 1, 4),
        ("nul1", .unexpectedCharacter, 3, 1, 4),
        ("\u{FEFF}{}", .unexpectedCharacter, 0, 1, 1),
        ("{\"a\":1 /* c */}", .unexpectedCharacter, 7, 1, 8),
    ])
    func malformed(_ input: String, _ reason: JSONParseError.Reason, _ offset: Int, _ line: Int, _ column: Int) {
        do {
            _ = try JSONValue.parse(input)
            Issue.record("accepted malformed JSON")
        } catch {
            #expect(error.reason == reason)
            #expect(error.offset == offset)
            #expect(error.line == line)
            #expect(error.column == column)
        }
    }

    @Test("Invalid UTF-8 is refused at the offending byte")
    func invalidUTF8() {
        let cases: [([UInt8], Int)] = [
            ([0x22, 0xC3, 0x28, 0x22], 2),  // bad continuation
            ([0x22, 0xC0, 0xAF, 0x22], 1),  // overlong '/'
            ([0x22, 0xED, 0xA0, 0x80, 0x22], 2),  // encoded surrogate
            ([0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], 2),  // above U+10FFFF
            ([0x22, 0xE4, 0xB8], 1),  // truncated sequence
        ]
        for (bytes, offset) in cases {
            do {
                _ = try JSONValue.parse(bytes)
                Issue.record("accepted invalid UTF-8")
            } catch {
                #expect(error.reason == .invalidUTF8)
                #expect(error.offset == offset)
            }
        }
    }

    @Test("Nesting is limited (default 64): 64 levels pass, 65 fail")
    func depthLimit() throws {
        let ok = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        _ = try JSONValue.parse(ok)
        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        do {
            _ = try JSONValue.parse(deep)
            Issue.record("accepted 65 levels")
        } catch {
            #expect(error.reason == .nestingTooDeep)
            #expect(error.offset == 64)
        }
        #expect(throws: JSONParseError.self) {
            try JSONValue.parse("{\"a\":{\"b\":[1]}}", limits: JSONValue.Limits(maximumDepth: 2))
        }
    }

    @Test("Size is limited")
    func sizeLimit() throws {
        let text = "\"" + String(repeating: "x", count: 100) + "\""
        _ = try JSONValue.parse(text, limits: JSONValue.Limits(maximumBytes: 102))
        do {
            _ = try JSONValue.parse(text, limits: JSONValue.Limits(maximumBytes: 101))
            Issue.record("accepted oversized input")
        } catch {
            #expect(error.reason == .tooLarge)
        }
    }

    @Test("Numbers keep their source text (1.10, 1e2, -0, 1E+2)")
    func numberText() throws {
        let value = try JSONValue.parse("[1.10, 1e2, -0, 1E+2, 12345678901234567890123, 0.1]")
        let texts = value.arrayValue?.compactMap { value -> String? in
            if case .number(let number) = value { number.text } else { nil }
        }
        #expect(texts == ["1.10", "1e2", "-0", "1E+2", "12345678901234567890123", "0.1"])
        #expect(value.canonicalString == "[1.10,1e2,-0,1E+2,12345678901234567890123,0.1]")
    }

    @Test("Object members keep source order; canonical form sorts keys by UTF-16 code units")
    func keyOrder() throws {
        let value = try JSONValue.parse(#"{"b":1,"a":2,"é":3,"😀":4,"\uFB01":5,"B":6,"aa":7,"":8}"#)
        #expect(value.objectValue?.keys == ["b", "a", "é", "😀", "ﬁ", "B", "aa", ""])
        // Equality and hashing ignore member order (equality of the canonical form).
        let reordered = try JSONValue.parse(value.canonicalBytes())
        #expect(reordered == value)
        #expect(reordered.hashValue == value.hashValue)
        #expect(reordered.objectValue?.keys.first == "")
        #expect(try JSONValue.parse("{\"a\":1.0}") != JSONValue.parse("{\"a\":1}"))
        // UTF-16 order: "" < "B" < "a" < "aa" < "b" < "é" (U+00E9) < "😀" (D83D DE00) < "ﬁ" (U+FB01)
        #expect(value.canonicalString == #"{"":8,"B":6,"a":2,"aa":7,"b":1,"é":3,"😀":4,"ﬁ":5}"#)
    }

    @Test("Canonical strings use minimal escaping")
    func escaping() throws {
        let value = try JSONValue.parse(#"["\"\\\/\b\f\n\r\t\u0001\u001f\u007f\u00e9\u4e2d\ud83d\ude00 "]"#)
        #expect(value.canonicalString == "[\"\\\"\\\\/\\b\\f\\n\\r\\t\\u0001\\u001f\u{7F}é中😀 \"]")
    }

    @Test("Round trip: parse(canonical) == parse(source) up to key order, and canonical is idempotent")
    func roundTrip() throws {
        let source = """
            {
              "z": [true, false, null, {"y": "汇通", "x": -1.50e-3}],
              "a": {"nested": {"deep": [[], {}]}},
              "s": "line\\nbreak"
            }
            """
        let value = try JSONValue.parse(source)
        let canonical = value.canonicalBytes()
        let reparsed = try JSONValue.parse(canonical)
        #expect(reparsed.canonicalBytes() == canonical)
        #expect(reparsed["z"]?.canonicalString == value["z"]?.canonicalString)
        #expect(reparsed["z"]?.arrayValue?.count == 4)
        #expect(reparsed["s"]?.stringValue == "line\nbreak")
        #expect(String(decoding: canonical, as: UTF8.self)
            == #"{"a":{"nested":{"deep":[[],{}]}},"s":"line\nbreak","z":[true,false,null,{"x":-1.50e-3,"y":"汇通"}]}"#)
    }

    @Test("JSONNumber validates its text")
    func jsonNumber() {
        #expect(JSONNumber(text: "1.10")?.text == "1.10")
        #expect(JSONNumber(text: "01") == nil)
        #expect(JSONNumber(text: "1.") == nil)
        #expect(JSONNumber(text: "") == nil)
        #expect(JSONNumber(text: "1e") == nil)
    }
}
