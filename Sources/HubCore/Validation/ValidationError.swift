import Foundation

/// A precise, log-safe report that an input broke a rule.
///
/// A validation error names *where* (an RFC 6901 JSON pointer into the input, e.g. `/data/payee/account`),
/// *what kind* of failure (``Code``), *which rule* (a reference rule ID such as `R-ID-2`, or a JSON Schema keyword
/// such as `pattern`) and a short message. The message never echoes the offending value: inputs hold account and
/// ID numbers, so `description` is safe to log as is.
public struct ValidationError: Error, Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The kind of failure. A struct over a private enum so that kinds can be added without breaking clients.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case malformedJSON, tooLarge, missingField, unknownField, wrongType
            case invalidFormat, invalidValue, checkFailed, currencyMismatch, outOfRange
        }

        private let base: Base

        /// The bytes are not well-formed JSON (or exceed the nesting limit).
        public static let malformedJSON = Code(base: .malformedJSON)
        /// The input is over its size limit.
        public static let tooLarge = Code(base: .tooLarge)
        /// A required member is absent.
        public static let missingField = Code(base: .missingField)
        /// A member is not allowed here.
        public static let unknownField = Code(base: .unknownField)
        /// A value has the wrong JSON type (e.g. a number where a string is required).
        public static let wrongType = Code(base: .wrongType)
        /// A value does not have the required syntax (pattern, length, alphabet).
        public static let invalidFormat = Code(base: .invalidFormat)
        /// A value has the right syntax but is not allowed (wrong constant, impossible date, bound exceeded).
        public static let invalidValue = Code(base: .invalidValue)
        /// A value has the right syntax but its check character or checksum is wrong.
        public static let checkFailed = Code(base: .checkFailed)
        /// Two amounts in different currencies were combined.
        public static let currencyMismatch = Code(base: .currencyMismatch)
        /// A number is outside the representable or permitted range.
        public static let outOfRange = Code(base: .outOfRange)

        /// Looks a code up by its name (as written in `.expect.json` sidecars).
        /// - Parameter name: The code's name, e.g. `invalidFormat`.
        public init?(name: String) {
            guard let base = Base(rawValue: name) else { return nil }
            self.base = base
        }

        private init(base: Base) { self.base = base }

        /// The code's name, e.g. `invalidFormat`.
        public var description: String { base.rawValue }
    }

    /// The kind of failure.
    public var code: Code
    /// The RFC 6901 JSON pointer of the offending value; `""` is the whole input.
    public var pointer: String
    /// The rule that failed: a reference rule ID (`R-ID-2`), an envelope rule (`CE-id`) or a schema keyword.
    public var rule: String
    /// A short, log-safe explanation that never contains the offending value.
    public var message: String

    /// Creates a validation error.
    /// - Parameters:
    ///   - code: The kind of failure.
    ///   - pointer: The JSON pointer of the offending value (default `""`, the whole input).
    ///   - rule: The rule that failed.
    ///   - message: A log-safe explanation; never include the offending value.
    public init(_ code: Code, pointer: String = "", rule: String, message: String) {
        self.code = code
        self.pointer = pointer
        self.rule = rule
        self.message = message
    }

    /// The same error, located under a parent pointer (e.g. `/enterpriseid` prefixed to `""`).
    /// - Parameter parent: The pointer of the value the error was found in.
    /// - Returns: The error with `parent + pointer` as its pointer.
    public func under(_ parent: String) -> ValidationError {
        var copy = self
        copy.pointer = parent + pointer
        return copy
    }

    /// One log-safe line: `invalidFormat at /id (CE-id): …`.
    public var description: String {
        "\(code) at \(pointer.isEmpty ? "/" : pointer) (\(rule)): \(message)"
    }

    /// The same as `description`: the message was written log-safe, and no value is ever stored.
    public var debugDescription: String { "ValidationError(\(description))" }

    /// A bounded label for metrics: the code name.
    public var shortDescription: String { code.description }
}

/// Several validation errors found in one input, most specific first.
public struct ValidationErrors: Error, Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The errors, in the order found; never empty.
    public var errors: [ValidationError]

    /// Creates a collection from at least one error.
    /// - Parameters:
    ///   - first: The first (most specific) error.
    ///   - rest: Further errors.
    public init(_ first: ValidationError, _ rest: [ValidationError] = []) {
        self.errors = [first] + rest
    }

    /// Creates a collection, or nil when there are no errors.
    /// - Parameter errors: The errors found.
    public init?(_ errors: [ValidationError]) {
        guard !errors.isEmpty else { return nil }
        self.errors = errors
    }

    /// The first, most specific error.
    public var first: ValidationError { errors[0] }

    /// One line per error, log-safe.
    public var description: String { errors.map(\.description).joined(separator: "; ") }

    /// The same as `description` (no values are stored).
    public var debugDescription: String { "ValidationErrors(\(description))" }
}

/// JSON pointer helpers (RFC 6901).
public enum JSONPointer {
    /// Escapes one reference token (`~` → `~0`, `/` → `~1`).
    /// - Parameter token: An object key or array index.
    /// - Returns: The escaped token.
    public static func escape(_ token: String) -> String {
        guard token.utf8.contains(where: { $0 == 0x7E || $0 == 0x2F }) else { return token }
        return token.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
    }

    /// Appends a token to a pointer.
    /// - Parameters:
    ///   - pointer: The parent pointer (`""` for the root).
    ///   - token: The key to append (escaped here).
    /// - Returns: `pointer + "/" + escaped token`.
    public static func appending(_ pointer: String, _ token: String) -> String {
        pointer + "/" + escape(token)
    }
}
