/// A problem with a schema itself, found when it is loaded (never while validating an instance).
///
/// An unsupported keyword is an error, never silently ignored: a validator that skipped a keyword would accept
/// messages the contract refuses.
public struct SchemaError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of problem. A struct over a private enum, so that kinds can be added.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case unreadable, malformedJSON, missingID, duplicateID, unsupportedKeyword, invalidKeywordValue
            case unresolvedReference, unsupportedFormat, invalidPattern
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The file could not be read.
        public static let unreadable = Code(.unreadable)
        /// The file is not well-formed JSON.
        public static let malformedJSON = Code(.malformedJSON)
        /// The root schema has no absolute `$id`.
        public static let missingID = Code(.missingID)
        /// Two schemas have the same `$id`.
        public static let duplicateID = Code(.duplicateID)
        /// A keyword outside the supported 2020-12 subset.
        public static let unsupportedKeyword = Code(.unsupportedKeyword)
        /// A keyword's value has the wrong type or shape (e.g. `required` not an array of strings).
        public static let invalidKeywordValue = Code(.invalidKeywordValue)
        /// A `$ref` that resolves to no loaded schema or no location inside one.
        public static let unresolvedReference = Code(.unresolvedReference)
        /// A `format` the validator does not assert.
        public static let unsupportedFormat = Code(.unsupportedFormat)
        /// A `pattern` or `patternProperties` key that does not compile.
        public static let invalidPattern = Code(.invalidPattern)

        /// The code's name.
        public var description: String { base.rawValue }
    }

    /// The kind of problem.
    public var code: Code
    /// The schema document (its `$id`, or its file path before the `$id` is known).
    public var document: String
    /// The JSON pointer of the offending location inside the schema document.
    public var schemaPointer: String
    /// What is wrong and what to do.
    public var message: String

    /// Creates a schema error.
    /// - Parameters:
    ///   - code: The kind of problem.
    ///   - document: The schema document's `$id` or file path.
    ///   - schemaPointer: The location inside the document.
    ///   - message: What is wrong.
    public init(_ code: Code, document: String, schemaPointer: String, message: String) {
        self.code = code
        self.document = document
        self.schemaPointer = schemaPointer
        self.message = message
    }

    /// One line: `unsupportedKeyword in <document>#<pointer>: message`.
    public var description: String { "\(code) in \(document)#\(schemaPointer): \(message)" }
}
