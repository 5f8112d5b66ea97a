/// A Unified Social Credit Code (统一社会信用代码, GB 32100-2015): the 18-character identifier of a Chinese
/// organisation.
///
/// Construction enforces R-ID-1 (alphabet and layout; lowercase is rejected, a UI may uppercase first) and R-ID-2
/// (the check character). The GB 11714 organisation-code check on positions 9–17 (R-ID-3) is only a warning,
/// because legacy codes may fail it: see ``organizationCodeCheckPasses``.
public struct USCC: Sendable, Hashable, Codable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The code's alphabet: 31 symbols valued 0–30 (I, O, S, V and Z excluded).
    public static let alphabet: [Character] = Array("0123456789ABCDEFGHJKLMNPQRTUWXY")

    /// The 18 characters of the code.
    public let value: String

    /// Validates a code.
    /// - Parameter string: The 18-character code, uppercase.
    /// - Throws: `ValidationError` with `invalidFormat` (R-ID-1) or `checkFailed` (R-ID-2).
    public init(_ string: String) throws(ValidationError) {
        let values = Self.values(of: string)
        guard let values, values.count == 18,
              Self.isDigits(values, in: 2..<8)
        else {
            throw ValidationError(
                .invalidFormat, rule: "R-ID-1",
                message: "a USCC is 18 characters: 2 code characters, a 6-digit division code, then 10 code characters "
                    + "from 0-9 and A-Y without I, O, S, V, Z (uppercase)"
            )
        }
        let expected = Self.checkValue(values.prefix(17))
        guard values[17] == expected else {
            throw ValidationError(
                .checkFailed, rule: "R-ID-2",
                message: "the USCC check character (position 18) does not match positions 1-17; check for a typo"
            )
        }
        self.value = string
    }

    /// Computes the check character (R-ID-2) for the first 17 characters of a code.
    /// - Parameter first17: The first 17 characters.
    /// - Returns: The check character, or nil if the input is not 17 characters of the code alphabet.
    public static func checkCharacter(for first17: String) -> Character? {
        guard let values = values(of: first17), values.count == 17 else { return nil }
        return alphabet[checkValue(values[...])]
    }

    /// Whether the GB 11714 organisation-code check on positions 9–17 passes (R-ID-3). A warning only.
    public var organizationCodeCheckPasses: Bool {
        let characters = Array(value.utf8)
        let weights = [3, 7, 9, 10, 5, 8, 4, 2]
        var sum = 0
        for (index, weight) in weights.enumerated() {
            let byte = characters[8 + index]
            let v: Int
            switch byte {
            case 0x30...0x39: v = Int(byte) - 0x30
            case 0x41...0x5A: v = Int(byte) - 0x41 + 10
            default: return false
            }
            sum += v * weight
        }
        let c = 11 - sum % 11
        let expected: UInt8 = c == 10 ? 0x58 : (c == 11 ? 0x30 : UInt8(0x30 + c))
        return characters[16] == expected
    }

    /// Warnings about this code (currently the R-ID-3 organisation-code check); empty when none.
    public var warnings: [ValidationError] {
        organizationCodeCheckPasses
            ? []
            : [ValidationError(
                .checkFailed, rule: "R-ID-3",
                message: "the embedded organisation code (positions 9-17) fails its GB 11714 check; legacy codes may")]
    }

    /// The registering authority character (position 1).
    public var authority: Character { value.first ?? "0" }

    /// The 6-digit administrative division code (positions 3–8).
    public var divisionCode: Substring { value.dropFirst(2).prefix(6) }

    /// The code itself (a USCC is public registration data).
    public var description: String { value }

    /// The code, labelled.
    public var debugDescription: String { "USCC(\(value))" }

    /// Decodes and validates a code from a JSON string.
    /// - Parameter decoder: The decoder.
    /// - Throws: `DecodingError.dataCorrupted` naming the path, with the `ValidationError` as its underlying error.
    public init(from decoder: any Decoder) throws {
        self = try IdentifierSupport.decode(from: decoder) { (s: String) throws(ValidationError) in try USCC(s) }
    }

    /// Encodes the code as a JSON string.
    /// - Parameter encoder: The encoder.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(value)
    }

    private static func values(of string: String) -> [Int]? {
        var result: [Int] = []
        for character in string {
            guard let index = alphabet.firstIndex(of: character) else { return nil }
            result.append(index)
        }
        return result
    }

    private static func isDigits(_ values: [Int], in range: Range<Int>) -> Bool {
        range.allSatisfy { values[$0] <= 9 }
    }

    private static func checkValue(_ values: ArraySlice<Int>) -> Int {
        var weight = 1
        var sum = 0
        for v in values {
            sum += v * weight
            weight = weight * 3 % 31
        }
        return (31 - sum % 31) % 31
    }
}
