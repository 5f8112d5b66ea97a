import Foundation
import Testing

@testable import HubCore

/// `JSONValueDecoder` must decode as `JSONDecoder` does (same values, same errors, same coding paths) and report the
/// members a type did not read.
@Suite("JSONValueDecoder: JSONDecoder's results from the parsed tree, and the unread members")
struct JSONValueDecoderTests {
    enum Rail: String, Codable { case hvps = "HVPS", beps = "BEPS" }

    struct Party: Codable, Equatable {
        var name: String
        var account: String?
    }

    struct Sample: Codable, Equatable {
        var id: String
        var count: Int
        var ratio: Double
        var flag: Bool
        var rail: Rail
        var amount: Money
        var parties: [Party]
        var note: String?
        var tags: [String: Int]
        var exact: Decimal
    }

    static let text = """
        {"id":"a-1","count":42,"ratio":0.25,"flag":true,"rail":"HVPS",
         "amount":{"amount":"1234.50","currency":"CNY"},
         "parties":[{"name":"华东制造","account":"6217000000001007922"},{"name":"苏州供应链"}],
         "tags":{"x":1,"y":2},"exact":0.1}
        """

    static func both<T: Decodable & Equatable>(_ type: T.Type, _ text: String) throws -> (T, T) {
        let value = try JSONValue.parse(Array(text.utf8))
        let fast = try JSONValueDecoder().decode(type, from: value)
        let reference = try JSONDecoder().decode(type, from: Data(text.utf8))
        return (fast, reference)
    }

    @Test("a nested payload decodes to exactly what JSONDecoder produces, and every member counts as read")
    func sameAsJSONDecoder() throws {
        let (fast, reference) = try Self.both(Sample.self, Self.text)
        #expect(fast == reference)
        #expect(fast.exact == Decimal(string: "0.1"))
        let value = try JSONValue.parse(Array(Self.text.utf8))
        #expect(try JSONValueDecoder().decodeTrackingReads(Sample.self, from: value).firstUnreadMember == nil)
    }

    @Test("a member the type does not define is the first unread member, with its pointer")
    func unknownMember() throws {
        let text = Self.text.replacingOccurrences(of: "{\"name\":\"苏州供应链\"}", with: "{\"name\":\"苏州供应链\",\"iban\":\"x\"}")
        let value = try JSONValue.parse(Array(text.utf8))
        #expect(try JSONValueDecoder().decodeTrackingReads(Sample.self, from: value).firstUnreadMember == "/parties/1/iban")
    }

    @Test("a null optional decodes as nil and stays unread, as the strict payload check refused it before")
    func nullOptional() throws {
        let value = try JSONValue.parse(Array(#"{"name":"n","account":null}"#.utf8))
        let (party, unread) = try JSONValueDecoder().decodeTrackingReads(Party.self, from: value)
        #expect(party == Party(name: "n", account: nil))
        #expect(unread == "/account")
    }

    @Test("errors are JSONDecoder's cases with the same coding paths", arguments: [
        #"{"name":1}"#, #"{"account":"a"}"#, #"{"name":null}"#, #"[1]"#,
    ])
    func sameErrors(text: String) throws {
        let value = try JSONValue.parse(Array(text.utf8))
        func describe(_ error: any Error) -> String {
            guard let error = error as? DecodingError else { return "not a DecodingError: \(error)" }
            func path(_ context: DecodingError.Context) -> String { context.codingPath.map(\.stringValue).joined(separator: "/") }
            switch error {
            case .typeMismatch(_, let context): return "typeMismatch \(path(context))"
            case .valueNotFound(_, let context): return "valueNotFound \(path(context))"
            case .keyNotFound(let key, let context): return "keyNotFound \(path(context)) \(key.stringValue)"
            case .dataCorrupted(let context): return "dataCorrupted \(path(context))"
            @unknown default: return "unknown"
            }
        }
        var fast = "no error"
        var reference = "no error"
        do { _ = try JSONValueDecoder().decode(Party.self, from: value) } catch { fast = describe(error) }
        do { _ = try JSONDecoder().decode(Party.self, from: Data(text.utf8)) } catch { reference = describe(error) }
        #expect(fast == reference)
        #expect(fast != "no error")
    }

    @Test("integers only from integer literals that fit; numbers never from strings")
    func numbers() throws {
        struct N: Codable, Equatable { var n: Int8 }
        for text in [#"{"n":1.5}"#, #"{"n":300}"#, #"{"n":"1"}"#] {
            let value = try JSONValue.parse(Array(text.utf8))
            #expect(throws: DecodingError.self) { try JSONValueDecoder().decode(N.self, from: value) }
            #expect(throws: DecodingError.self) { try JSONDecoder().decode(N.self, from: Data(text.utf8)) }
        }
        #expect(try Self.both(N.self, #"{"n":-7}"#).0 == N(n: -7))
    }
}
