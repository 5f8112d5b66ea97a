/// An error from the AMQP layer: what failed, in one log-safe line, with the broker's reply when there is one.
///
/// `description` never contains passwords or message bodies and is safe to log; `debugDescription` adds the
/// library detail and the source location. `shortDescription` is bounded and suits a metric label.
public struct AMQPError: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The kind of failure, stable across releases; match on it, never on the message.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case invalidURL, brokerUnreachable, authenticationFailed, vhostNotFound, accessRefused, tlsFailed
            case connectionLost, channelClosed, preconditionFailed, nacked, unroutable, staleDelivery, timeout
            case protocolError
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The URL or a configuration value is malformed.
        public static let invalidURL = Code(.invalidURL)
        /// The broker could not be reached (connection refused, timeout, name resolution).
        public static let brokerUnreachable = Code(.brokerUnreachable)
        /// The broker refused the user name or password (403 ACCESS_REFUSED on login).
        public static let authenticationFailed = Code(.authenticationFailed)
        /// The virtual host does not exist (530 NOT_ALLOWED, "vhost … not found").
        public static let vhostNotFound = Code(.vhostNotFound)
        /// The user lacks a permission (403 on an operation, or 530 for a vhost it may not use).
        public static let accessRefused = Code(.accessRefused)
        /// The TLS handshake or certificate verification failed.
        public static let tlsFailed = Code(.tlsFailed)
        /// The connection died; unconfirmed publishes must be republished.
        public static let connectionLost = Code(.connectionLost)
        /// The broker closed the channel (e.g. 404 NOT_FOUND for a missing exchange or queue).
        public static let channelClosed = Code(.channelClosed)
        /// A declaration conflicts with an existing object of the same name (406 PRECONDITION_FAILED).
        public static let preconditionFailed = Code(.preconditionFailed)
        /// The broker refused responsibility for a published message (`basic.nack`).
        public static let nacked = Code(.nacked)
        /// A mandatory message matched no queue and was returned (`basic.return`).
        public static let unroutable = Code(.unroutable)
        /// An ack, nack or reject for a delivery of a connection or channel that no longer exists.
        public static let staleDelivery = Code(.staleDelivery)
        /// The broker did not answer in time.
        public static let timeout = Code(.timeout)
        /// The broker or the library broke the protocol, or an unexpected library error occurred.
        public static let protocolError = Code(.protocolError)

        /// The code's name, e.g. `connectionLost`.
        public var description: String { base.rawValue }
    }

    /// The kind of failure.
    public var code: Code
    /// A log-safe sentence saying what failed and, where useful, what to do.
    public var message: String
    /// The AMQP reply code the broker sent (e.g. 406), if any.
    public var replyCode: UInt16?
    /// The broker's reply text (e.g. `PRECONDITION_FAILED - inequivalent arg …`), if any.
    public var replyText: String?
    /// Library-level detail (e.g. the rabbitmq-c status string); shown only by `debugDescription`.
    public var detail: String?
    /// The source file that raised the error.
    public var file: String
    /// The source line that raised the error.
    public var line: Int

    /// Creates an error.
    /// - Parameters:
    ///   - code: The kind of failure.
    ///   - message: A log-safe sentence (never a password or a message body).
    ///   - replyCode: The broker's reply code, if any.
    ///   - replyText: The broker's reply text, if any.
    ///   - detail: Library-level detail for `debugDescription`.
    ///   - file: The source file (default: the caller's).
    ///   - line: The source line (default: the caller's).
    public init(
        _ code: Code,
        _ message: String,
        replyCode: UInt16? = nil,
        replyText: String? = nil,
        detail: String? = nil,
        file: String = #fileID,
        line: Int = #line
    ) {
        self.code = code
        self.message = message
        self.replyCode = replyCode
        self.replyText = replyText
        self.detail = detail
        self.file = file
        self.line = line
    }

    /// One log-safe line: code, message and the broker's reply.
    public var description: String {
        var text = "AMQP \(code): \(message)"
        if let replyCode {
            text += " (broker replied \(replyCode)"
            if let replyText { text += " \(replyText)" }
            text += ")"
        }
        return text
    }

    /// A bounded label for metrics: the code's name.
    public var shortDescription: String { code.description }

    /// The description plus library detail and the source location.
    public var debugDescription: String {
        var text = description
        if let detail { text += " [\(detail)]" }
        text += " at \(file):\(line)"
        return text
    }
}
