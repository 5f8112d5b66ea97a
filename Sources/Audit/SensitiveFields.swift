import Foundation
public import HubCore
public import HubCrypto

/// Which fields of which message types are personal or secret (account numbers, ID numbers, names, wallets), and
/// how they are stored: each value is replaced by `{"$sealed": "sm4:<key version>:<base64 sealed box>"}`, an
/// SM4 encrypt-then-MAC box (HubCrypto) of the value's canonical JSON, bound to its JSON pointer.
///
/// Pointers are RFC 6901 pointers into the envelope (`/data/debtor/account`); a `*` token matches every array
/// element or object member at that level (`/data/lines/*/idNumber`). A type pattern is an exact type or a prefix
/// ending in `*` (`payments.*`).
public struct SensitiveFields: Sendable, Hashable {
    /// The fields of one message type pattern.
    public struct Rule: Sendable, Hashable {
        /// An exact type or a prefix ending in `*`.
        public var typePattern: String
        /// The pointers (as text, e.g. `/data/debtor/account`).
        public let pointers: [String]
        /// The pointers' unescaped tokens, parsed once here rather than for every message sealed.
        let tokenLists: [[String]]

        /// Creates a rule.
        /// - Parameters:
        ///   - typePattern: An exact type or a prefix ending in `*`.
        ///   - pointers: The pointers.
        public init(typePattern: String, pointers: [String]) {
            self.typePattern = typePattern
            self.pointers = pointers
            self.tokenLists = pointers.map(SensitiveFields.tokens)
        }

        func matches(_ type: String) -> Bool {
            if typePattern.hasSuffix("*") { return type.hasPrefix(typePattern.dropLast()) }
            return type == typePattern
        }
    }

    /// The rules, in order.
    public var rules: [Rule]

    /// Creates the list from rules.
    /// - Parameter rules: The rules.
    public init(rules: [Rule]) { self.rules = rules }

    /// The default list: the parties of the payments messages, of the adapter commands and of compliance's reports.
    public static let `default` = SensitiveFields(rules: [
        Rule(typePattern: "payments.transfer.request.v1", pointers: [
            "/data/debtor/name", "/data/debtor/account", "/data/creditor/name", "/data/creditor/account",
            "/data/creditor/wallet", "/data/remittanceInformation", "/data/documentedBasis",
        ]),
        Rule(typePattern: "payments.batch.request.v1", pointers: [
            "/data/payer/name", "/data/payer/account", "/data/lines/*/creditor/name", "/data/lines/*/creditor/account",
            "/data/lines/*/creditor/wallet", "/data/lines/*/idNumber", "/data/documentedBasis",
        ]),
        Rule(typePattern: "interbank.credit-transfer.submit.v1", pointers: [
            "/data/debtor/name", "/data/debtor/account", "/data/creditor/name", "/data/creditor/account",
            "/data/remittanceInformation",
        ]),
        Rule(typePattern: "ecny.transfer.submit.v1", pointers: [
            "/data/payerWallet", "/data/payerAccount/account", "/data/payeeWallet", "/data/authoriser",
        ]),
        // Compliance's large-value report carries the parties in clear because the bank must file them (R-AML-8).
        Rule(typePattern: "compliance.report.large-value.v1", pointers: [
            "/data/customer/id", "/data/customer/name",
            "/data/transactions/*/debtor/name", "/data/transactions/*/debtor/uscc", "/data/transactions/*/debtor/idNumber",
            "/data/transactions/*/debtor/account", "/data/transactions/*/debtor/wallet",
            "/data/transactions/*/creditor/name", "/data/transactions/*/creditor/uscc",
            "/data/transactions/*/creditor/idNumber", "/data/transactions/*/creditor/account",
            "/data/transactions/*/creditor/wallet",
        ]),
        Rule(typePattern: "payments.batch.completed.v1", pointers: [
            "/data/lines/*/creditor/name", "/data/lines/*/creditor/account", "/data/lines/*/creditor/wallet",
            "/data/lines/*/idNumber",
        ]),
    ])

    /// Parses the configuration form: rules separated by `;`, each `TYPE=POINTER,POINTER`; the word `default`
    /// includes the default rules. Example: `default;partner.order.submit.v1=/data/buyer/name,/data/buyer/phone`.
    /// - Parameter text: The configuration value.
    /// - Throws: ``AuditError`` `invalidConfiguration` naming the malformed entry.
    public init(configuration text: String) throws {
        var rules: [Rule] = []
        for entry in text.split(separator: ";").map({ $0.trimmingCharacters(in: .whitespaces) }) where !entry.isEmpty {
            if entry == "default" {
                rules += Self.default.rules
                continue
            }
            let parts = entry.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, !parts[0].isEmpty else {
                throw AuditError(.invalidConfiguration, "sensitive-field entry '\(entry)' is not TYPE=POINTER,POINTER")
            }
            let pointers = parts[1].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            for pointer in pointers where !pointer.hasPrefix("/") {
                throw AuditError(
                    .invalidConfiguration, "sensitive-field pointer '\(pointer)' of \(parts[0]) must start with '/'")
            }
            rules.append(Rule(typePattern: parts[0], pointers: pointers))
        }
        self.rules = rules
    }

    /// The pointers that apply to a type.
    /// - Parameter type: The message type.
    /// - Returns: The pointers.
    public func pointers(for type: String) -> [String] {
        rules.filter { $0.matches(type) }.flatMap(\.pointers)
    }

    /// The member name of a sealed value's wrapper object.
    public static let sealedMember = "$sealed"

    /// Replaces every sensitive value of `value` (a message of `type`) by its sealed box.
    /// - Parameters:
    ///   - value: The parsed body.
    ///   - type: The message type.
    ///   - keyring: The keyring; its current key seals.
    /// - Returns: The new value and how many values were sealed.
    /// - Throws: ``AuditError`` `crypto` when sealing fails.
    public func seal(_ value: JSONValue, type: String, keyring: SM4.Keyring) throws -> (JSONValue, Int) {
        var result = value
        var count = 0
        for tokens in rules.filter({ $0.matches(type) }).flatMap(\.tokenLists) {
            var failure: (any Error)?
            result = Self.transform(result, tokens: tokens[...], path: "") { concrete, leaf in
                if Self.isSealed(leaf) { return leaf }
                do {
                    let box = try SM4.seal(leaf.canonicalBytes(), using: keyring, authenticating: Self.associatedData(concrete))
                    count += 1
                    return Self.wrap(box)
                } catch {
                    failure = error
                    return leaf
                }
            }
            if let failure { throw AuditError(.crypto, "sealing a sensitive field failed", underlying: failure) }
        }
        return (result, count)
    }

    /// Replaces every sealed value in `value` by its plaintext (`unmask`) or by a mask.
    ///
    /// Masks: a value at a pointer ending in `name` keeps its first character (`张**`); other strings keep their
    /// last four characters (`************1234`); values whose key version the keyring lacks show as
    /// `[sealed: key version N unavailable]`, values that fail to authenticate as `[sealed: does not authenticate]`.
    /// - Parameters:
    ///   - value: A stored body.
    ///   - keyring: The keyring (nil: every sealed value shows as unavailable).
    ///   - unmask: Whether to reveal plaintext.
    /// - Returns: The body for display.
    public static func reveal(_ value: JSONValue, keyring: SM4.Keyring?, unmask: Bool) -> JSONValue {
        walk(value, path: "") { pointer, leaf in
            guard let box = unwrap(leaf) else { return nil }
            guard let keyring, keyring.key(version: box.keyVersion) != nil else {
                return .string("[sealed: key version \(box.keyVersion) unavailable]")
            }
            guard let plain = try? SM4.open(box, using: keyring, authenticating: associatedData(pointer)),
                let opened = try? JSONValue.parse(Array(plain))
            else { return .string("[sealed: does not authenticate]") }
            return unmask ? opened : mask(opened, pointer: pointer)
        }
    }

    /// The mask of a value (see ``reveal(_:keyring:unmask:)``).
    /// - Parameters:
    ///   - value: The plaintext value.
    ///   - pointer: Where it is.
    /// - Returns: The masked value.
    public static func mask(_ value: JSONValue, pointer: String) -> JSONValue {
        guard case .string(let text) = value else { return .string("***") }
        let characters = Array(text)
        if pointer.lowercased().hasSuffix("name") {
            guard let first = characters.first else { return .string("") }
            return .string(String(first) + String(repeating: "*", count: max(characters.count - 1, 2)))
        }
        guard characters.count > 6 else { return .string(String(repeating: "*", count: max(characters.count, 3))) }
        return .string(String(repeating: "*", count: characters.count - 4) + String(characters.suffix(4)))
    }

    /// The key versions of the sealed values in a stored body (to find records sealed under an old key).
    /// - Parameter value: A stored body.
    /// - Returns: The versions.
    public static func keyVersions(in value: JSONValue) -> Set<UInt32> {
        var versions: Set<UInt32> = []
        _ = walk(value, path: "") { _, leaf in
            if let box = unwrap(leaf) { versions.insert(box.keyVersion) }
            return nil
        }
        return versions
    }

    // MARK: Internals

    static func associatedData(_ pointer: String) -> [UInt8] { Array("huitong.audit.field:\(pointer)".utf8) }

    static func wrap(_ box: SM4.SealedBox) -> JSONValue {
        .object(JSONObject([(sealedMember, .string("sm4:\(box.keyVersion):\(box.combined.base64EncodedString())"))]))
    }

    static func isSealed(_ value: JSONValue) -> Bool {
        guard case .object(let object) = value, object.count == 1, object[sealedMember]?.stringValue != nil else {
            return false
        }
        return true
    }

    static func unwrap(_ value: JSONValue) -> SM4.SealedBox? {
        guard isSealed(value), let text = value[sealedMember]?.stringValue else { return nil }
        let parts = text.split(separator: ":", maxSplits: 2)
        guard parts.count == 3, parts[0] == "sm4", let data = Data(base64Encoded: String(parts[2])) else { return nil }
        return try? SM4.SealedBox(combined: data)
    }

    static func tokens(_ pointer: String) -> [String] {
        // RFC 6901: `~1` is `/`, `~0` is `~`. (Once per rule; Foundation's replacingOccurrences here, when it ran for
        // every pointer of every message, was 15 % of the audit role's CPU.)
        pointer.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map { token in
            guard token.utf8.contains(UInt8(ascii: "~")) else { return String(token) }
            var unescaped = ""
            var pendingTilde = false
            for character in token {
                if pendingTilde {
                    pendingTilde = false
                    switch character {
                    case "1": unescaped.append("/")
                    case "0": unescaped.append("~")
                    case "~": unescaped.append("~"); pendingTilde = true
                    default: unescaped.append("~"); unescaped.append(character)
                    }
                } else if character == "~" {
                    pendingTilde = true
                } else {
                    unescaped.append(character)
                }
            }
            if pendingTilde { unescaped.append("~") }
            return unescaped
        }
    }

    /// Applies `body` to every value the tokens reach (`*` fans out), giving it the concrete pointer.
    static func transform(
        _ value: JSONValue, tokens: ArraySlice<String>, path: String,
        _ body: (String, JSONValue) -> JSONValue
    ) -> JSONValue {
        guard let token = tokens.first else { return body(path, value) }
        let rest = tokens.dropFirst()
        switch value {
        case .object(var object):
            let keys = token == "*" ? object.keys : (object[token] == nil ? [] : [token])
            for key in keys {
                guard let child = object[key] else { continue }
                object[key] = transform(child, tokens: rest, path: JSONPointer.appending(path, key), body)
            }
            return .object(object)
        case .array(var elements):
            let indices: [Int] = token == "*" ? Array(elements.indices) : (Int(token).map { [$0] } ?? [])
            for index in indices where elements.indices.contains(index) {
                elements[index] = transform(elements[index], tokens: rest, path: "\(path)/\(index)", body)
            }
            return .array(elements)
        default:
            return value
        }
    }

    /// Visits every value; where `replace` returns a value, it replaces the visited one (and is not descended).
    static func walk(_ value: JSONValue, path: String, _ replace: (String, JSONValue) -> JSONValue?) -> JSONValue {
        if let replacement = replace(path, value) { return replacement }
        switch value {
        case .object(let object):
            return .object(JSONObject(object.members.map { ($0.key, walk($0.value, path: JSONPointer.appending(path, $0.key), replace)) }))
        case .array(let elements):
            return .array(elements.enumerated().map { walk($0.element, path: "\(path)/\($0.offset)", replace) })
        default:
            return value
        }
    }
}
