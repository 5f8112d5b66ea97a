/// An error thrown by HubCrypto.
///
/// ``description`` is safe to log: it names the operation that failed and never contains key material,
/// plaintext or signed data. ``debugDescription`` adds the OpenSSL error queue that was drained when the
/// error was made, and the source location.
public struct CryptoError: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The kind of failure; compare with the static members, for example `error.code == .authenticationFailed`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case invalidKey
            case invalidArgument
            case invalidSignatureEncoding
            case authenticationFailed
            case malformedCiphertext
            case unknownKeyVersion
            case randomFailed
            case openSSL
        }

        private var base: Base

        private init(_ base: Base) {
            self.base = base
        }

        /// A key is the wrong size or type, or could not be parsed (PEM, DER), or is not an SM2 key.
        public static let invalidKey = Code(.invalidKey)
        /// An argument other than a key is out of range (for example an SM2 signer ID longer than 8191 bytes,
        /// or a block that is not 16 bytes long).
        public static let invalidArgument = Code(.invalidArgument)
        /// A signature is neither a valid DER `SEQUENCE { r INTEGER, s INTEGER }` nor 64 raw bytes.
        public static let invalidSignatureEncoding = Code(.invalidSignatureEncoding)
        /// A sealed box's tag did not verify: wrong key, wrong associated data, or the box was altered.
        public static let authenticationFailed = Code(.authenticationFailed)
        /// A sealed box is too short, misaligned, or of an unknown format version.
        public static let malformedCiphertext = Code(.malformedCiphertext)
        /// A sealed box names a key version that the keyring does not hold: load that version's key.
        public static let unknownKeyVersion = Code(.unknownKeyVersion)
        /// The OpenSSL random generator (`RAND_bytes`) failed; nothing was encrypted.
        public static let randomFailed = Code(.randomFailed)
        /// An OpenSSL call failed unexpectedly; ``CryptoError/debugDescription`` carries OpenSSL's error queue.
        public static let openSSL = Code(.openSSL)

        /// The code's name, for example `authenticationFailed`.
        public var description: String {
            self.base.rawValue
        }
    }

    /// Where an error was created.
    public struct SourceLocation: Hashable, Sendable {
        /// The function that created the error.
        public var function: String
        /// The file that created the error.
        public var file: String
        /// The line that created the error.
        public var line: Int
    }

    /// The kind of failure.
    public var code: Code

    /// A log-safe sentence saying what failed and what to do; never contains secrets or data.
    public var message: String

    /// The OpenSSL error queue drained when this error was made (`ERR_error_string_n` lines), oldest first.
    public var openSSLErrors: [String]

    /// Where the error was created.
    public var location: SourceLocation

    init(
        _ code: Code,
        _ message: String,
        openSSLErrors: [String] = [],
        function: String = #function,
        file: String = #fileID,
        line: Int = #line
    ) {
        self.code = code
        self.message = message
        self.openSSLErrors = openSSLErrors
        self.location = SourceLocation(function: function, file: file, line: line)
    }

    /// A bounded label for metrics: the code's name.
    public var shortDescription: String {
        self.code.description
    }

    /// A log-safe one-line description: the code and the message.
    public var description: String {
        "CryptoError.\(self.code): \(self.message)"
    }

    /// The description plus the OpenSSL error queue and the source location.
    public var debugDescription: String {
        var text = self.description
        if !self.openSSLErrors.isEmpty {
            text += " [OpenSSL: \(self.openSSLErrors.joined(separator: "; "))]"
        }
        text += " (at \(self.location.file):\(self.location.line) in \(self.location.function))"
        return text
    }
}
