import Foundation
import HubCore
import Testing

/// `JSONValueEncoder` must give the JSON value `JSONEncoder` gives (default strategies): compared here through the
/// canonical form of both, for the shapes Codable types produce.
@Suite("JSONValueEncoder (pure): the same JSON as JSONEncoder")
struct JSONValueEncoderTests {
    enum Kind: String, Codable { case enterprise, person }

    struct Party: Codable, Equatable {
        var name: String
        var kind: Kind
        var account: String?
        var tags: [String]
    }

    struct Sample: Codable, Equatable {
        var id: UUID
        var amount: Decimal
        var count: Int
        var small: Int8
        var big: UInt64
        var negative: Int64
        var ratio: Double
        var flag: Bool
        var note: String?
        var missing: String?
        var parties: [Party]
        var limits: [String: Int]
        var matrix: [[Int]]
        var at: Date
        var blob: Data
        var link: URL
    }

    /// Writes through nested containers and a super encoder, as hand-written conformances do.
    struct Handwritten: Encodable {
        enum Keys: String, CodingKey { case header, lines, base, explicitNull }
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Keys.self)
            var header = container.nestedContainer(keyedBy: Keys.self, forKey: .header)
            try header.encode("v1", forKey: .base)
            var lines = container.nestedUnkeyedContainer(forKey: .lines)
            try lines.encode(1)
            var inner = lines.nestedContainer(keyedBy: Keys.self)
            try inner.encode(true, forKey: .explicitNull)
            var deeper = lines.nestedUnkeyedContainer()
            try deeper.encode("x")
            try deeper.encodeNil()
            var base = container.superEncoder(forKey: .base).singleValueContainer()
            try base.encode(Decimal(string: "0.10")!)
            try container.encodeNil(forKey: .explicitNull)
        }
    }

    static func viaJSONEncoder(_ value: some Encodable) throws -> String {
        try JSONValue.parse(Array(JSONEncoder().encode(value))).canonicalString
    }

    static let sample = Sample(
        id: UUID(uuidString: "01936F4E-8A3B-7C2D-9E1F-0A1B2C3D4E5F")!, amount: Decimal(string: "1234567.89")!, count: -42,
        small: -8, big: UInt64.max, negative: Int64.min, ratio: 0.25, flag: true, note: "中文 \"quoted\" / slash\n",
        missing: nil,
        parties: [
            Party(name: "苏州甲科技有限公司", kind: .enterprise, account: "6222000011112222", tags: ["a", "b"]),
            Party(name: "张三", kind: .person, account: nil, tags: []),
        ],
        limits: ["daily": 5, "monthly": 100], matrix: [[1, 2], [], [3]],
        at: Date(timeIntervalSinceReferenceDate: 815_000_000.5), blob: Data([0, 1, 2, 254, 255]),
        link: URL(string: "https://huitong.example.com/contracts/schemas/x.json")!)

    @Test("a struct with every kind of member encodes to the same JSON value")
    func sameAsJSONEncoder() throws {
        let ours = try JSONValueEncoder().encode(Self.sample)
        #expect(ours.canonicalString == (try Self.viaJSONEncoder(Self.sample)))
        #expect(ours["missing"] == nil, "a nil optional is omitted, not null")
        #expect(ours["amount"] == .number(JSONNumber(text: "1234567.89")!), "a Decimal keeps its exact digits")
        // And it decodes back to the same value.
        #expect(try JSONValueDecoder().decode(Sample.self, from: ours) == Self.sample)
    }

    @Test("nested containers, super encoders and explicit nulls, as JSONEncoder writes them")
    func handwritten() throws {
        let ours = try JSONValueEncoder().encode(Handwritten())
        #expect(ours.canonicalString == (try Self.viaJSONEncoder(Handwritten())))
        #expect(ours["explicitNull"] == .null)
    }

    @Test("top-level scalars, arrays and null")
    func scalars() throws {
        func same(_ value: some Encodable) throws {
            #expect(try JSONValueEncoder().encode(value).canonicalString == (try Self.viaJSONEncoder(value)), "\(value)")
        }
        try same("text")
        try same(7)
        try same([Decimal(string: "-0.5")!])
        try same(Optional<Int>.none)
        try same(2.0)
    }

    @Test("a non-finite number is refused, as JSONEncoder refuses it")
    func nonFinite() {
        #expect(throws: EncodingError.self) { try JSONValueEncoder().encode(["x": Double.nan]) }
        #expect(throws: EncodingError.self) { try JSONEncoder().encode(["x": Double.nan]) }
    }
}

@Suite("UUIDText (pure): lowercase canonical UUIDs without Foundation's formatter")
struct UUIDTextTests {
    @Test("format gives uuidString in lower case; parse reads it back")
    func roundTrip() {
        var uuids = [UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))]
        uuids.append(UUID(uuid: (255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255)))
        for _ in 0..<200 { uuids.append(UUID()) }
        for uuid in uuids {
            let text = UUIDText.format(uuid)
            #expect(text == uuid.uuidString.lowercased())
            #expect(UUIDText.parse(text) == uuid)
        }
    }

    @Test("parse refuses upper case, a wrong length and misplaced dashes", arguments: [
        "01936F4E-8A3B-7C2D-9E1F-0A1B2C3D4E5F", "01936f4e-8a3b-7c2d-9e1f-0a1b2c3d4e5", "01936f4e8a3b-7c2d-9e1f-0a1b2c3d4e5f0",
        "01936f4e-8a3b-7c2d-9e1f-0a1b2c3d4e5g", "", "01936f4e-8a3b-7c2d-9e1f-0a1b2c3d4e5f ",
    ])
    func refused(_ text: String) {
        #expect(UUIDText.parse(text) == nil)
    }
}
