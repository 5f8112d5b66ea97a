import HubCore
import Testing

@testable import HubAMQP

@Suite("Field tables")
struct FieldTableTests {
    @Test("a quorum queue's Topology arguments become the right AMQP field table")
    func topologyArguments() throws {
        let queue = Topology.Queue(
            name: "svc.payments", deliveryLimit: 20, deadLetterExchange: "hub.dead",
            deadLetterRoutingKey: "svc.payments", extraArguments: ["x-single-active-consumer": .bool(true)]
        )
        let table = AMQPFieldValue.table(queue.arguments)
        #expect(table == [
            "x-queue-type": .string("quorum"),
            "x-delivery-limit": .int64(20),
            "x-dead-letter-exchange": .string("hub.dead"),
            "x-dead-letter-routing-key": .string("svc.payments"),
            "x-dead-letter-strategy": .string("at-least-once"),
            "x-overflow": .string("reject-publish"),
            "x-single-active-consumer": .bool(true),
        ])
        // Through rabbitmq-c's own encoder and decoder: what goes on the wire comes back unchanged.
        #expect(try FieldTableCodec.decode(FieldTableCodec.encode(table)) == table)
    }

    @Test("a retry queue's TTL is a long-long integer on the wire")
    func ttlIsLongLong() throws {
        let queue = Topology.Queue(
            name: "r", deadLetterExchange: "", deadLetterRoutingKey: "q", messageTTLMilliseconds: 1_000
        )
        let ttl = try #require(queue.arguments["x-message-ttl"])
        let encoded = try FieldTableCodec.encode(AMQPFieldValue.table(["x-message-ttl": ttl]))
        // 4-byte table length, 1-byte key length, key, then the type tag 'l' (signed 64-bit) and 8 bytes.
        let key = Array("x-message-ttl".utf8)
        #expect(encoded.count == 4 + 1 + key.count + 1 + 8)
        #expect(encoded[4 + 1 + key.count] == UInt8(ascii: "l"))
        #expect(Array(encoded.suffix(8)) == [0, 0, 0, 0, 0, 0, 0x03, 0xE8])
    }

    @Test("every field kind round-trips through the wire form, nested")
    func allKinds() throws {
        let table: [String: AMQPFieldValue] = [
            "bool": .bool(false), "i8": .int8(-8), "u8": .uint8(8), "i16": .int16(-16), "u16": .uint16(16),
            "i32": .int32(-32), "u32": .uint32(32), "i64": .int64(-64), "u64": .uint64(64), "f": .float(1.5),
            "d": .double(-2.25), "dec": .decimal(decimals: 2, value: 12_345), "s": .string("汇通"),
            "x": .bytes([0, 255, 1]), "t": .timestamp(1_700_000_000), "v": .void,
            "nested": .table(["count": .int64(1), "list": .array([.string("a"), .int32(2), .array([])])]),
            "empty": .table([:]),
        ]
        #expect(try FieldTableCodec.decode(FieldTableCodec.encode(table)) == table)
    }

    @Test("int64Value reads any integer kind")
    func integerAccess() {
        #expect(AMQPFieldValue.uint16(7).int64Value == 7)
        #expect(AMQPFieldValue.int64(-1).int64Value == -1)
        #expect(AMQPFieldValue.uint64(.max).int64Value == nil)
        #expect(AMQPFieldValue.string("1").int64Value == nil)
    }
}
