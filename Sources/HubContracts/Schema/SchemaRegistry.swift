public import Foundation
public import HubCore

/// A set of JSON Schema (2020-12) documents, keyed by `$id`, and a validator for the subset the hub's contracts use.
///
/// Supported keywords:
/// - core: `$schema` (must be 2020-12 if present), `$id` (root only), `$ref` (to `#/…` pointers and to other loaded
///   documents by absolute or relative URI, e.g. `common.schema.json#/$defs/money`), `$defs`, `$comment`;
/// - applicators: `allOf`, `anyOf`, `oneOf`, `not`, `if`/`then`/`else`, `properties`, `patternProperties`,
///   `additionalProperties` (boolean or schema), `items`, `prefixItems`;
/// - assertions: `type`, `enum`, `const`, `required`, `minItems`, `maxItems`, `minLength`, `maxLength` (in Unicode
///   scalars), `pattern` (`NSRegularExpression`, unanchored as in ECMA-262 `test`), `minimum`, `maximum`,
///   `exclusiveMinimum`, `exclusiveMaximum` (compared as `Decimal`), `format` as an assertion for `date-time`
///   (RFC 3339 with an offset; upper-case `T`/`Z`, no leap seconds, as ``Timestamp``), `uuid`, `uri`, `uri-reference`;
/// - annotations, ignored: `title`, `description`, `examples`, `default`, `deprecated`, `readOnly`, `writeOnly`.
///
/// Any other keyword, an unknown `format`, an uncompilable pattern or an unresolvable `$ref` is a ``SchemaError`` at
/// load time.
public struct SchemaRegistry: Sendable {
    /// The 2020-12 meta-schema URI accepted in `$schema`.
    public static let draft202012 = "https://json-schema.org/draft/2020-12/schema"

    static let annotationKeywords: Set<String> = [
        "title", "description", "examples", "default", "deprecated", "readOnly", "writeOnly", "$comment",
    ]
    static let supportedKeywords: Set<String> = annotationKeywords.union([
        "$schema", "$id", "$ref", "$defs", "allOf", "anyOf", "oneOf", "not", "if", "then", "else", "properties",
        "patternProperties", "additionalProperties", "items", "prefixItems", "type", "enum", "const", "required",
        "minItems", "maxItems", "minLength", "maxLength", "pattern", "minimum", "maximum", "exclusiveMinimum",
        "exclusiveMaximum", "format",
    ])
    static let supportedFormats: Set<String> = ["date-time", "uuid", "uri", "uri-reference"]
    static let typeNames: Set<String> = ["null", "boolean", "object", "array", "number", "string", "integer"]

    private(set) var documents: [String: JSONValue] = [:]
    private(set) var patterns: PatternCache = PatternCache()

    /// An empty registry.
    public init() {}

    /// The `$id`s of the loaded documents, sorted.
    public var documentIDs: [String] { documents.keys.sorted() }

    /// Whether a document with this `$id` is loaded.
    /// - Parameter id: An absolute URI (a fragment is ignored).
    /// - Returns: Whether it is loaded.
    public func contains(_ id: String) -> Bool { documents[Self.stripFragment(id)] != nil }

    /// Adds a schema document after checking every keyword.
    /// - Parameters:
    ///   - schema: The parsed document; its root must carry an absolute `$id`.
    ///   - origin: Where it came from (a file path), for error messages.
    /// - Returns: The document's `$id`.
    /// - Throws: `SchemaError` for a missing or duplicate `$id` or any unsupported or malformed keyword.
    @discardableResult
    public mutating func add(_ schema: JSONValue, origin: String) throws(SchemaError) -> String {
        guard case .object(let root) = schema, case .string(let id)? = root["$id"], URISyntax.isAbsoluteURI(id),
              !id.contains("#")
        else {
            throw SchemaError(
                .missingID, document: origin, schemaPointer: "",
                message: "a schema document needs an absolute $id without a fragment")
        }
        guard documents[id] == nil else {
            throw SchemaError(.duplicateID, document: origin, schemaPointer: "/$id", message: "another loaded schema has this $id")
        }
        try SchemaChecker(document: id, patterns: patterns).check(schema, pointer: "", isRoot: true)
        documents[id] = schema
        return id
    }

    /// Checks that every `$ref` in every loaded document resolves (call after adding all documents).
    /// - Throws: `SchemaError` (`unresolvedReference`) for the first reference that does not.
    public func checkReferences() throws(SchemaError) {
        for (id, document) in documents.sorted(by: { $0.key < $1.key }) {
            var references: [(String, String)] = []
            Self.collectReferences(document, pointer: "", into: &references)
            for (pointer, reference) in references where resolve(reference, base: id) == nil {
                throw SchemaError(
                    .unresolvedReference, document: id, schemaPointer: pointer,
                    message: "$ref does not resolve to a loaded schema location")
            }
        }
    }

    /// Loads every `*.json` file under a directory (recursively) as a schema document, then checks references.
    /// - Parameter directory: The schemas directory, e.g. `contracts/schemas`.
    /// - Returns: The registry and, for each document, the file it came from (path relative to `directory`).
    /// - Throws: `SchemaError` for the first unreadable, malformed or unsupported document.
    public static func load(directory: URL) throws(SchemaError) -> (registry: SchemaRegistry, files: [String: String]) {
        var registry = SchemaRegistry()
        var files: [String: String] = [:]
        for relative in jsonFiles(under: directory) {
            let url = directory.appendingPathComponent(relative)
            guard let data = FileManager.default.contents(atPath: url.path) else {
                throw SchemaError(.unreadable, document: relative, schemaPointer: "", message: "the file cannot be read")
            }
            let value: JSONValue
            do {
                value = try JSONValue.parse(Array(data))
            } catch {
                throw SchemaError(.malformedJSON, document: relative, schemaPointer: "", message: error.description)
            }
            let id = try registry.add(value, origin: relative)
            files[id] = relative
        }
        try registry.checkReferences()
        return (registry, files)
    }

    /// Validates an instance against a loaded schema.
    /// - Parameters:
    ///   - instance: The JSON value.
    ///   - schemaID: The schema's URI: a document `$id`, optionally with a `#/…` fragment.
    ///   - pointer: The instance's own location, prefixed to every error pointer (default `""`).
    /// - Returns: The errors, in the order found (empty if valid). Each carries the instance pointer and, as its
    ///   `rule`, the schema keyword that failed.
    /// - Throws: `SchemaError` (`unresolvedReference`) if `schemaID` is not loaded.
    public func validate(_ instance: JSONValue, against schemaID: String, pointer: String = "") throws(SchemaError)
        -> [ValidationError]
    {
        guard let (base, schema) = resolve(schemaID, base: schemaID) else {
            throw SchemaError(
                .unresolvedReference, document: schemaID, schemaPointer: "", message: "no loaded schema has this URI")
        }
        var validator = SchemaValidator(registry: self)
        validator.validate(instance, schema: schema, base: base, pointer: pointer, depth: 0)
        return validator.errors
    }

    // MARK: Reference resolution

    /// Resolves a reference against a base document URI into (document URI, schema).
    func resolve(_ reference: String, base: String) -> (String, JSONValue)? {
        let (target, fragment) = Self.split(reference)
        let documentURI = target.isEmpty ? Self.stripFragment(base) : Self.resolveURI(target, against: base)
        guard let document = documents[documentURI] else { return nil }
        guard let fragment, !fragment.isEmpty else { return (documentURI, document) }
        guard fragment.hasPrefix("/") else { return nil }
        var node = document
        for rawToken in fragment.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
            let token = (String(rawToken).removingPercentEncoding ?? String(rawToken))
                .replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            switch node {
            case .object(let object):
                guard let next = object[token] else { return nil }
                node = next
            case .array(let array):
                guard let index = Int(token), array.indices.contains(index) else { return nil }
                node = array[index]
            default:
                return nil
            }
        }
        return (documentURI, node)
    }

    static func split(_ reference: String) -> (String, String?) {
        guard let hash = reference.firstIndex(of: "#") else { return (reference, nil) }
        return (String(reference[..<hash]), String(reference[reference.index(after: hash)...]))
    }

    static func stripFragment(_ uri: String) -> String { split(uri).0 }

    /// RFC 3986 §5.2 for the cases the contracts use: absolute references, and relative paths with `./`, `../`.
    static func resolveURI(_ reference: String, against base: String) -> String {
        if URISyntax.isAbsoluteURI(reference) { return reference }
        let baseDocument = stripFragment(base)
        guard let schemeEnd = baseDocument.range(of: "://") else { return reference }
        let afterScheme = baseDocument[schemeEnd.upperBound...]
        let authorityEnd = afterScheme.firstIndex(of: "/") ?? afterScheme.endIndex
        let prefix = String(baseDocument[..<authorityEnd])
        var segments = afterScheme[authorityEnd...].split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        if reference.hasPrefix("/") {
            segments = [""]
        } else {
            segments.removeLast()
        }
        for segment in reference.split(separator: "/", omittingEmptySubsequences: false).map(String.init) {
            switch segment {
            case ".": continue
            case "..": if segments.count > 1 { segments.removeLast() }
            default: segments.append(segment)
            }
        }
        return prefix + segments.joined(separator: "/")
    }

    static func collectReferences(_ value: JSONValue, pointer: String, into references: inout [(String, String)]) {
        switch value {
        case .object(let object):
            for member in object {
                let child = JSONPointer.appending(pointer, member.key)
                if member.key == "$ref", case .string(let reference) = member.value {
                    references.append((child, reference))
                } else if member.key != "enum" && member.key != "const" && member.key != "examples"
                    && member.key != "default"
                {
                    collectReferences(member.value, pointer: child, into: &references)
                }
            }
        case .array(let array):
            for (index, element) in array.enumerated() {
                collectReferences(element, pointer: JSONPointer.appending(pointer, String(index)), into: &references)
            }
        default:
            break
        }
    }

    static func jsonFiles(under directory: URL) -> [String] {
        guard let enumerator = FileManager.default.enumerator(atPath: directory.path) else { return [] }
        var files: [String] = []
        while let path = enumerator.nextObject() as? String {
            if path.hasSuffix(".json") { files.append(path) }
        }
        return files.sorted()
    }
}

/// Compiled `pattern` and `patternProperties` regular expressions, shared by copies of a registry.
///
/// `@unchecked Sendable` is safe: every access to the dictionary goes through the `NSLock`, and a compiled
/// `NSRegularExpression` is immutable and documented thread-safe for matching.
final class PatternCache: @unchecked Sendable {
    private let lock = NSLock()
    private var compiled: [String: NSRegularExpression] = [:]

    func regex(_ pattern: String) -> NSRegularExpression? {
        lock.lock()
        defer { lock.unlock() }
        if let regex = compiled[pattern] { return regex }
        guard let regex = try? NSRegularExpression(pattern: pattern) else { return nil }
        compiled[pattern] = regex
        return regex
    }

    func matches(_ pattern: String, _ string: String) -> Bool {
        guard let regex = regex(pattern) else { return false }
        let range = NSRange(string.startIndex..<string.endIndex, in: string)
        return regex.firstMatch(in: string, options: [], range: range) != nil
    }
}
