extension JSONValue {
    /// The canonical serialisation, as UTF-8 bytes. The audit log hashes these bytes, so the form is fixed:
    ///
    /// - No insignificant whitespace: no space or newline anywhere outside strings.
    /// - Object members sorted by name, comparing names as sequences of UTF-16 code units (as RFC 8785 JCS does);
    ///   names are unique (the parser refuses duplicates).
    /// - Arrays keep their order.
    /// - Strings in UTF-8 with minimal escaping: `"` → `\"`, `\` → `\\`, U+0008 `\b`, U+0009 `\t`, U+000A `\n`,
    ///   U+000C `\f`, U+000D `\r`, every other code point below U+0020 as `\u00xx` with lowercase hex; everything
    ///   else (including `/`, U+007F and non-ASCII) is written as itself.
    /// - Numbers exactly as their source text (`1.10` stays `1.10`, `1e2` stays `1e2`). Unlike RFC 8785 the number
    ///   text is not normalised: the hub never re-computes numbers, and money travels as strings anyway.
    /// - `true`, `false`, `null` as such.
    /// - Returns: The canonical bytes.
    public func canonicalBytes() -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(256)
        Self.writeCanonical(self, into: &output)
        return output
    }

    /// The canonical serialisation as a string (see ``canonicalBytes()``).
    public var canonicalString: String { String(decoding: canonicalBytes(), as: UTF8.self) }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    private static func writeCanonical(_ value: JSONValue, into output: inout [UInt8]) {
        switch value {
        case .null: output.append(contentsOf: "null".utf8)
        case .bool(let flag): output.append(contentsOf: (flag ? "true" : "false").utf8)
        case .number(let number): output.append(contentsOf: number.text.utf8)
        case .string(let string): writeString(string, into: &output)
        case .array(let elements):
            output.append(0x5B)
            for (i, element) in elements.enumerated() {
                if i > 0 { output.append(0x2C) }
                writeCanonical(element, into: &output)
            }
            output.append(0x5D)
        case .object(let object):
            output.append(0x7B)
            let sorted = object.members.sorted { $0.key.utf16.lexicographicallyPrecedes($1.key.utf16) }
            for (i, member) in sorted.enumerated() {
                if i > 0 { output.append(0x2C) }
                writeString(member.key, into: &output)
                output.append(0x3A)
                writeCanonical(member.value, into: &output)
            }
            output.append(0x7D)
        }
    }

    private static func writeString(_ string: String, into output: inout [UInt8]) {
        output.append(0x22)
        for byte in string.utf8 {
            switch byte {
            case 0x22: output.append(contentsOf: [0x5C, 0x22])
            case 0x5C: output.append(contentsOf: [0x5C, 0x5C])
            case 0x08: output.append(contentsOf: [0x5C, 0x62])
            case 0x09: output.append(contentsOf: [0x5C, 0x74])
            case 0x0A: output.append(contentsOf: [0x5C, 0x6E])
            case 0x0C: output.append(contentsOf: [0x5C, 0x66])
            case 0x0D: output.append(contentsOf: [0x5C, 0x72])
            case 0x00..<0x20:
                output.append(contentsOf: [0x5C, 0x75, 0x30, 0x30, hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 0xF)]])
            default: output.append(byte)
            }
        }
        output.append(0x22)
    }
}
