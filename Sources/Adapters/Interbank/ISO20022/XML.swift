import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// A small, correct XML writer: elements, attributes and text, escaped; nothing else (no comments, no CDATA).
///
/// Characters XML 1.0 cannot carry (C0 controls other than tab, line feed and carriage return) are replaced by
/// U+FFFD; the adapters' inputs refuse them earlier, so this is a last defence, never a silent data change on a
/// valid message.
public struct XMLWriter: Sendable {
    /// The document so far.
    public private(set) var text = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    private var open: [String] = []

    /// Creates a writer with the XML declaration written.
    public init() {}

    /// Opens an element.
    /// - Parameters:
    ///   - name: The element name.
    ///   - attributes: Attributes in order.
    public mutating func open(_ name: String, _ attributes: [(String, String)] = []) {
        text += String(repeating: " ", count: open.count) + "<" + name + Self.attributes(attributes) + ">\n"
        open.append(name)
    }

    /// Closes the innermost open element.
    public mutating func close() {
        guard let name = open.popLast() else { return }
        text += String(repeating: " ", count: open.count) + "</" + name + ">\n"
    }

    /// Writes `<name attributes>escaped value</name>`.
    /// - Parameters:
    ///   - name: The element name.
    ///   - value: The text content.
    ///   - attributes: Attributes in order.
    public mutating func element(_ name: String, _ value: String, _ attributes: [(String, String)] = []) {
        text += String(repeating: " ", count: open.count) + "<" + name + Self.attributes(attributes) + ">"
            + Self.escape(value, quotes: false) + "</" + name + ">\n"
    }

    /// Writes the element only when there is a value.
    /// - Parameters:
    ///   - name: The element name.
    ///   - value: The optional text content.
    public mutating func optional(_ name: String, _ value: String?) {
        if let value { element(name, value) }
    }

    /// The finished document (closes whatever is still open).
    public mutating func finish() -> String {
        while !open.isEmpty { close() }
        return text
    }

    private static func attributes(_ attributes: [(String, String)]) -> String {
        attributes.map { " \($0.0)=\"\(escape($0.1, quotes: true))\"" }.joined()
    }

    /// Escapes text for element content (`&`, `<`, `>`) or attribute values (also `"` and `'`).
    /// - Parameters:
    ///   - value: The raw text.
    ///   - quotes: Whether to escape quotes (attribute values).
    /// - Returns: The escaped text.
    public static func escape(_ value: String, quotes: Bool) -> String {
        var result = ""
        result.unicodeScalars.reserveCapacity(value.unicodeScalars.count)
        for scalar in value.unicodeScalars {
            switch scalar {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"" where quotes: result += "&quot;"
            case "'" where quotes: result += "&apos;"
            case "\t", "\n", "\r": result.unicodeScalars.append(scalar)
            default:
                if scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF {
                    result.unicodeScalars.append("\u{FFFD}")
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result
    }
}

/// A parsed XML element: local name (namespace prefix dropped), attributes, children and text.
public struct XMLNode: Sendable, Hashable {
    /// The local name.
    public var name: String
    /// The element's namespace URI.
    public var namespace: String?
    /// Attributes by name.
    public var attributes: [String: String]
    /// Child elements in document order.
    public var children: [XMLNode]
    /// The text content (trimmed of surrounding whitespace).
    public var text: String

    /// The first child named `name`.
    /// - Parameter name: The local name.
    /// - Returns: The child, if any.
    public func child(_ name: String) -> XMLNode? { children.first { $0.name == name } }

    /// Every child named `name`.
    /// - Parameter name: The local name.
    /// - Returns: The children.
    public func all(_ name: String) -> [XMLNode] { children.filter { $0.name == name } }

    /// Follows a path of child names.
    /// - Parameter path: Child names, e.g. `"GrpHdr", "MsgId"`.
    /// - Returns: The element at the end of the path, if all steps exist.
    public func at(_ path: String...) -> XMLNode? { at(path) }

    /// Follows a path of child names.
    /// - Parameter path: Child names.
    /// - Returns: The element at the end, if all steps exist.
    public func at(_ path: [String]) -> XMLNode? {
        var node = self
        for step in path {
            guard let next = node.child(step) else { return nil }
            node = next
        }
        return node
    }

    /// The text at a path, if the element exists and its text is not empty.
    /// - Parameter path: Child names.
    /// - Returns: The text.
    public func text(_ path: String...) -> String? {
        guard let node = at(path), !node.text.isEmpty else { return nil }
        return node.text
    }

    /// Parses a document; external entities are never resolved.
    /// - Parameters:
    ///   - bytes: The document.
    ///   - maximumBytes: The size limit (default 1 MiB).
    /// - Returns: The root element.
    /// - Throws: ``ISO20022Error`` (rule `XML`) when the bytes are not well-formed XML or too large.
    public static func parse(_ bytes: [UInt8], maximumBytes: Int = 1 << 20) throws(ISO20022Error) -> XMLNode {
        guard bytes.count <= maximumBytes else {
            throw ISO20022Error(ISO20022Issue(path: "", rule: "XML", message: "the document exceeds \(maximumBytes) bytes"))
        }
        // A DTD could declare entities; ISO 20022 messages never carry one.
        if bytes.count > 0, String(decoding: bytes.prefix(4096), as: UTF8.self).contains("<!DOCTYPE") {
            throw ISO20022Error(ISO20022Issue(path: "", rule: "XML", message: "a DOCTYPE is not allowed"))
        }
        let parser = XMLParser(data: Data(bytes))
        parser.shouldProcessNamespaces = true
        parser.shouldResolveExternalEntities = false
        let builder = TreeBuilder()
        parser.delegate = builder
        guard parser.parse(), let root = builder.root else {
            throw ISO20022Error(ISO20022Issue(path: "", rule: "XML", message: "the document is not well-formed XML"))
        }
        return root
    }
}

private final class TreeBuilder: NSObject, XMLParserDelegate {
    var stack: [XMLNode] = []
    var root: XMLNode?

    func parser(
        _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName qName: String?,
        attributes attributeDict: [String: String] = [:]
    ) {
        stack.append(XMLNode(name: elementName, namespace: namespaceURI, attributes: attributeDict, children: [], text: ""))
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        guard !stack.isEmpty else { return }
        stack[stack.count - 1].text += string
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName qName: String?) {
        guard var node = stack.popLast() else { return }
        node.text = node.text.trimmingCharacters(in: .whitespacesAndNewlines)
        if stack.isEmpty {
            root = node
        } else {
            stack[stack.count - 1].children.append(node)
        }
    }
}

/// One finding of the ISO 20022 field rules: where (a path of element names), which rule, and what is wrong.
public struct ISO20022Issue: Sendable, Hashable, CustomStringConvertible {
    /// The element path, e.g. `GrpHdr/NbOfTxs`.
    public var path: String
    /// The rule, e.g. `mandatory`, `NbOfTxs`, `CtrlSum`, `currency`, `reference`.
    public var rule: String
    /// What is wrong (never a value of the message: safe to log).
    public var message: String

    /// Creates an issue.
    public init(path: String, rule: String, message: String) {
        self.path = path
        self.rule = rule
        self.message = message
    }

    /// `<path> (<rule>): <message>`.
    public var description: String { "\(path.isEmpty ? "/" : path) (\(rule)): \(message)" }
}

/// An ISO 20022 message that breaks the field rules.
public struct ISO20022Error: Error, Sendable, Hashable, CustomStringConvertible {
    /// Every issue found (at least one).
    public var issues: [ISO20022Issue]

    /// Creates an error.
    public init(_ first: ISO20022Issue, _ rest: [ISO20022Issue] = []) { issues = [first] + rest }

    /// The first issue (bounded, safe to log).
    public var description: String {
        issues.count == 1 ? issues[0].description : "\(issues[0].description) (+\(issues.count - 1) more)"
    }
}
