import Foundation

/// Shared helpers for the identifier types (internal).
enum IdentifierSupport {
    /// Decodes a string and validates it with `make`, turning a `ValidationError` into a `DecodingError` that
    /// names the JSON path (the coding path) and carries the validation error as its underlying error.
    static func decode<T>(
        from decoder: any Decoder,
        _ make: (String) throws(ValidationError) -> T
    ) throws -> T {
        let container = try decoder.singleValueContainer()
        let string = try container.decode(String.self)
        do {
            return try make(string)
        } catch {
            let pointer = decoder.codingPath.reduce("") { JSONPointer.appending($0, $1.intValue.map(String.init) ?? $1.stringValue) }
            throw DecodingError.dataCorrupted(
                DecodingError.Context(
                    codingPath: decoder.codingPath,
                    debugDescription: error.under(pointer).description,
                    underlyingError: error
                )
            )
        }
    }

    /// Masks a sensitive value for display: the first 4 and last 4 characters stay visible when the value is longer
    /// than 8 characters; shorter values are masked entirely.
    static func mask(_ value: String) -> String {
        let characters = Array(value)
        guard characters.count > 8 else { return String(repeating: "*", count: characters.count) }
        return String(characters.prefix(4)) + String(repeating: "*", count: characters.count - 8)
            + String(characters.suffix(4))
    }

    /// True if every UTF-8 byte of `value` is an ASCII digit.
    static func allDigits(_ value: String) -> Bool {
        !value.isEmpty && value.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    }

    /// The digit value of an ASCII digit byte.
    static func digit(_ byte: UInt8) -> Int { Int(byte) - 0x30 }
}
