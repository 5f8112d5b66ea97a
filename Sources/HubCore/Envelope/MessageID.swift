public import Foundation
import Synchronization

/// A message identifier: a UUID of version 7 (RFC 9562), whose first 48 bits are the Unix time in milliseconds, so
/// identifiers sort roughly by creation time and index well.
///
/// The text form is the lowercase canonical `8-4-4-4-12` form; parsing refuses uppercase, braces, other versions
/// and other variants.
public struct MessageID: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// The UUID.
    public let uuid: UUID

    /// Parses and checks an identifier.
    /// - Parameter string: Lowercase canonical text, version nibble 7, variant bits `10`.
    /// - Throws: `ValidationError` (`invalidFormat`, rule `CE-id`).
    public init(_ string: String) throws(ValidationError) {
        guard let uuid = UUIDText.parse(string) else {
            throw ValidationError(
                .invalidFormat, rule: "CE-id",
                message: "a message id is a UUID in lowercase canonical form (8-4-4-4-12 hex digits)")
        }
        try self.init(uuid: uuid)
    }

    /// Wraps a UUID after checking its version and variant.
    /// - Parameter uuid: The UUID.
    /// - Throws: `ValidationError` (`invalidFormat`, rule `CE-id`) unless it is version 7, variant RFC 9562.
    public init(uuid: UUID) throws(ValidationError) {
        let bytes = uuid.uuid
        guard bytes.6 >> 4 == 7, bytes.8 >> 6 == 0b10 else {
            throw ValidationError(
                .invalidFormat, rule: "CE-id",
                message: "a message id must be a UUID version 7 (RFC 9562): time-ordered, variant 10")
        }
        self.uuid = uuid
    }

    /// The creation time encoded in the first 48 bits, to the millisecond.
    public var date: Date {
        let b = uuid.uuid
        let milliseconds = [b.0, b.1, b.2, b.3, b.4, b.5].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return Date(timeIntervalSince1970: Double(milliseconds) / 1000)
    }

    /// Generates an identifier now, with the process-wide generator.
    /// - Returns: A new identifier, greater than every identifier this process generated before.
    public static func generate() -> MessageID { Generator.shared.next() }

    /// The lowercase canonical text.
    public var description: String { UUIDText.format(uuid) }

    /// Orders identifiers by their bytes, which is creation order for version 7.
    /// - Parameters:
    ///   - lhs: An identifier.
    ///   - rhs: Another identifier.
    /// - Returns: Whether `lhs` sorts first.
    public static func < (lhs: MessageID, rhs: MessageID) -> Bool {
        withUnsafeBytes(of: lhs.uuid.uuid) { l in
            withUnsafeBytes(of: rhs.uuid.uuid) { r in l.lexicographicallyPrecedes(r) }
        }
    }

    /// Decodes and checks an identifier from a JSON string.
    /// - Parameter decoder: The decoder.
    /// - Throws: `DecodingError.dataCorrupted` naming the path, with the `ValidationError` as its underlying error.
    public init(from decoder: any Decoder) throws {
        self = try IdentifierSupport.decode(from: decoder) { (s: String) throws(ValidationError) in try MessageID(s) }
    }

    /// Encodes the lowercase canonical text.
    /// - Parameter encoder: The encoder.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

extension MessageID {
    /// Generates version 7 identifiers from a clock and random bits (RFC 9562 §6.2, method 1).
    ///
    /// Layout: 48 bits of Unix milliseconds, version `0111`, a 12-bit counter (`rand_a`), variant `10`, 62 random
    /// bits. The counter starts at a random value below 2048 each new millisecond and increments within one, and the
    /// timestamp never goes backwards (if the clock does, or the counter overflows, the last timestamp is reused or
    /// advanced by one): identifiers from one generator are strictly increasing.
    public final class Generator: Sendable {
        private struct State {
            var lastMilliseconds: UInt64 = 0
            var counter: UInt16 = 0
        }

        /// The process-wide generator, on the system clock.
        public static let shared = Generator()

        private let now: @Sendable () -> Date
        private let state = Mutex(State())

        /// Creates a generator.
        /// - Parameter now: The clock (default: the system clock). Inject one in tests.
        public init(now: @escaping @Sendable () -> Date = { Date() }) {
            self.now = now
        }

        /// Generates the next identifier.
        /// - Returns: An identifier greater than every one this generator returned before.
        public func next() -> MessageID {
            let clock = UInt64(max(0, (now().timeIntervalSince1970 * 1000).rounded(.down)))
            var random = SystemRandomNumberGenerator()
            let (milliseconds, counter) = state.withLock { state -> (UInt64, UInt16) in
                if clock > state.lastMilliseconds {
                    state.lastMilliseconds = clock
                    state.counter = UInt16.random(in: 0..<0x800, using: &random)
                } else if state.counter < 0xFFF {
                    state.counter += 1
                } else {
                    state.lastMilliseconds += 1
                    state.counter = UInt16.random(in: 0..<0x800, using: &random)
                }
                return (state.lastMilliseconds, state.counter)
            }
            let tail = random.next() as UInt64
            var bytes: [UInt8] = []
            for shift in stride(from: 40, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: milliseconds >> UInt64(shift))) }
            bytes.append(0x70 | UInt8(counter >> 8))
            bytes.append(UInt8(truncatingIfNeeded: counter))
            bytes.append(0x80 | UInt8(truncatingIfNeeded: tail >> 56) & 0x3F)
            for shift in stride(from: 48, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: tail >> UInt64(shift))) }
            let uuid = UUID(uuid: (
                bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]
            ))
            // The version and variant bits were set above, so the check cannot fail; fall back defensively anyway.
            return (try? MessageID(uuid: uuid)) ?? MessageID(unchecked: uuid)
        }
    }

    private init(unchecked uuid: UUID) { self.uuid = uuid }
}

/// Lowercase canonical UUID text (internal).
package enum UUIDText {
    /// Parses `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` with lowercase hex digits only.
    package static func parse(_ string: String) -> UUID? {
        var string = string
        return string.withUTF8 { text -> UUID? in
            guard text.count == 36 else { return nil }
            var uuid: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
            let parsed = withUnsafeMutableBytes(of: &uuid) { bytes -> Bool in
                var position = 0
                for index in 0..<16 {
                    if index == 4 || index == 6 || index == 8 || index == 10 {
                        guard text[position] == 0x2D else { return false }
                        position += 1
                    }
                    guard let high = hexValue(text[position]), let low = hexValue(text[position + 1]) else { return false }
                    bytes[index] = high << 4 | low
                    position += 2
                }
                return true
            }
            return parsed ? UUID(uuid: uuid) : nil
        }
    }

    /// Formats a UUID in lowercase canonical form. (Foundation's `uuidString` formats each byte with `snprintf`
    /// and is upper case: with `lowercased()` it was ~2 % of the payments role's CPU.)
    package static func format(_ uuid: UUID) -> String {
        withUnsafeBytes(of: uuid.uuid) { bytes in
            String(unsafeUninitializedCapacity: 36) { text in
                func digit(_ value: UInt8) -> UInt8 { value < 10 ? 0x30 + value : 0x57 + value }
                var position = 0
                for index in 0..<16 {
                    if index == 4 || index == 6 || index == 8 || index == 10 {
                        text[position] = 0x2D
                        position += 1
                    }
                    text[position] = digit(bytes[index] >> 4)
                    text[position + 1] = digit(bytes[index] & 0x0F)
                    position += 2
                }
                return 36
            }
        }
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: byte - 0x30
        case 0x61...0x66: byte - 0x61 + 10
        default: nil
        }
    }
}
