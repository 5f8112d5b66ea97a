import CRabbitMQ
import Foundation
public import HubCore
public import Logging

/// One AMQP connection to RabbitMQ with one channel, owned by a dedicated OS thread.
///
/// The actor's executor is a ``HubCore/DedicatedThreadExecutor``: every isolated method, blocking rabbitmq-c calls
/// included, runs on that thread, and the `amqp_connection_state_t` never leaves it. A connection is used for
/// either publishing (``AMQPPublisher``) or consuming (``AMQPConsumer``), never both: a confirm arriving during a
/// consume call breaks rabbitmq-c. After a connection error it is dead for good; open a new one.
public actor AMQPConnection {
    /// What the broker said about itself on connection (for `huitong doctor`).
    public struct ServerProperties: Sendable, Hashable {
        /// `product`, e.g. `RabbitMQ`.
        public var product: String?
        /// `version`, e.g. `3.10.8`.
        public var version: String?
        /// `platform`, e.g. `Erlang/OTP 25.2.3`.
        public var platform: String?
        /// `cluster_name`.
        public var clusterName: String?
    }

    /// A queue's state, from a passive declare.
    public struct QueueStatus: Sendable, Hashable {
        /// Messages ready for delivery (not counting unacknowledged ones).
        public var messageCount: UInt32
        /// Active consumers.
        public var consumerCount: UInt32
    }

    private let executor: DedicatedThreadExecutor
    /// The actor runs on its dedicated thread.
    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    /// The configuration this connection was opened with.
    public nonisolated let configuration: AMQPConfiguration
    private let logger: Logger
    private var state: amqp_connection_state_t?
    private let channel: amqp_channel_t = 1
    private var channelOpen = false
    /// Incremented whenever the channel is reopened: delivery tags of an older channel are stale.
    private(set) var channelGeneration: UInt64 = 0
    private var confirmMode = false
    private var nextPublishTag: UInt64 = 1
    private var consumerTag: String?
    /// The broker's description of itself, read at login.
    public private(set) var serverProperties = ServerProperties()
    /// The negotiated heartbeat in seconds (0: none).
    public private(set) var heartbeatSeconds = 0
    /// Why the connection died, once it has.
    private var deathCause: AMQPError?

    private init(configuration: AMQPConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        self.executor = DedicatedThreadExecutor(name: "amqp-connection")
    }

    isolated deinit {
        // Normally `close()` has destroyed the handle. If not, this isolated deinit runs on the connection's own
        // thread, so the handle is destroyed where it lived. The executor's thread then exits.
        if let state { amqp_destroy_connection(state) }
        executor.shutdown()
    }

    /// Opens a connection: socket (TCP or TLS), login with client properties, channel 1.
    /// - Parameters:
    ///   - configuration: Where and how to connect.
    ///   - logger: The logger for this connection's background work.
    /// - Returns: The open connection.
    /// - Throws: ``AMQPError`` with code `brokerUnreachable`, `tlsFailed`, `authenticationFailed`,
    ///   `vhostNotFound`, `accessRefused`, `timeout` or `protocolError`.
    public static func connect(configuration: AMQPConfiguration, logger: Logger) async throws -> AMQPConnection {
        let connection = AMQPConnection(configuration: configuration, logger: logger)
        try await connection.open()
        return connection
    }

    /// Whether the connection is usable.
    public var isOpen: Bool { state != nil && deathCause == nil }

    // MARK: - Opening and closing

    private func open() throws(AMQPError) {
        guard let state = amqp_new_connection() else {
            throw AMQPError(.protocolError, "rabbitmq-c could not allocate a connection")
        }
        self.state = state
        do {
            try openSocket(state)
            try login(state)
            try openChannel()
        } catch {
            amqp_destroy_connection(state)
            self.state = nil
            throw error
        }
        logger.debug(
            "amqp connection open",
            metadata: ["amqp.url": "\(configuration.redactedURL)", "amqp.heartbeat": "\(heartbeatSeconds)"]
        )
    }

    private func openSocket(_ state: amqp_connection_state_t) throws(AMQPError) {
        let arena = CArena()
        let endpoint = "\(configuration.host):\(configuration.port)"
        let socket: OpaquePointer?
        if let tls = configuration.tls {
            if let name = tls.serverNameIndication, name != configuration.host {
                throw AMQPError(
                    .tlsFailed,
                    "server_name_indication differs from the host; rabbitmq-c 0.11 sends the host as SNI: "
                        + "connect by that name instead"
                )
            }
            socket = amqp_ssl_socket_new(state)
            guard let socket else { throw AMQPError(.tlsFailed, "could not create a TLS socket (OpenSSL init)") }
            if let path = tls.caCertificateFile {
                let status = amqp_ssl_socket_set_cacert(socket, arena.cString(path))
                if status != AMQP_STATUS_OK.rawValue {
                    throw AMQPError(.tlsFailed, "could not load the CA file in 'cacertfile'", detail: Self.statusText(status))
                }
            }
            switch (tls.certificateFile, tls.keyFile) {
            case (let cert?, let key?):
                let status = amqp_ssl_socket_set_key(socket, arena.cString(cert), arena.cString(key))
                if status != AMQP_STATUS_OK.rawValue {
                    throw AMQPError(
                        .tlsFailed, "could not load the client certificate or key ('certfile', 'keyfile')",
                        detail: Self.statusText(status)
                    )
                }
            case (nil, nil):
                break
            default:
                throw AMQPError(.tlsFailed, "'certfile' and 'keyfile' must be given together")
            }
            amqp_ssl_socket_set_verify_peer(socket, tls.verifyPeer ? 1 : 0)
            amqp_ssl_socket_set_verify_hostname(socket, tls.verifyPeer ? 1 : 0)
        } else {
            socket = amqp_tcp_socket_new(state)
            guard socket != nil else { throw AMQPError(.protocolError, "could not create a TCP socket") }
        }
        var timeout = Self.timeval(configuration.connectionTimeout)
        let status = amqp_socket_open_noblock(socket, arena.cString(configuration.host), Int32(configuration.port), &timeout)
        guard status == AMQP_STATUS_OK.rawValue else {
            if status <= AMQP_STATUS_SSL_ERROR.rawValue && status > -0x0300 {
                throw AMQPError(
                    .tlsFailed, "TLS handshake with the broker at \(endpoint) failed; check certificates and 'verify'",
                    detail: Self.statusText(status)
                )
            }
            if status == AMQP_STATUS_TIMEOUT.rawValue {
                throw AMQPError(
                    .brokerUnreachable,
                    "no answer from the broker at \(endpoint) within the connection timeout; check host, port, firewall",
                    detail: Self.statusText(status)
                )
            }
            throw AMQPError(
                .brokerUnreachable,
                "cannot reach the broker at \(endpoint); check that it runs and the host and port are right",
                detail: Self.statusText(status)
            )
        }
        amqp_set_handshake_timeout(state, &timeout)
    }

    private func login(_ state: amqp_connection_state_t) throws(AMQPError) {
        let arena = CArena()
        var properties: [String: AMQPFieldValue] = [
            "product": .string("huitong"),
            "platform": .string("Swift"),
            "information": .string("Huitong integration hub (rabbitmq-c \(String(cString: amqp_version())))"),
            // Without consumer_cancel_notify the broker silently stops a consumer whose queue is deleted.
            "capabilities": .table([
                "authentication_failure_close": .bool(true),
                "consumer_cancel_notify": .bool(true),
                "publisher_confirms": .bool(true),
                "basic.nack": .bool(true),
                "exchange_exchange_bindings": .bool(true),
            ]),
        ]
        if let name = configuration.connectionName { properties["connection_name"] = .string(name) }
        var table = arena.table(properties)
        let reply = chub_amqp_login_plain_with_properties(
            state, arena.cString(configuration.vhost), Int32(configuration.channelMax), Int32(configuration.frameMax),
            Int32(configuration.heartbeatSeconds), &table, arena.cString(configuration.user),
            arena.cString(configuration.password)
        )
        switch reply.reply_type {
        case AMQP_RESPONSE_NORMAL:
            break
        case AMQP_RESPONSE_SERVER_EXCEPTION where reply.reply.id == AMQP_CONNECTION_CLOSE_METHOD:
            let close = try load(reply.reply.decoded, as: amqp_connection_close_t.self)
            let text = CDecode.string(close.reply_text)
            let who = "user '\(configuration.user)' on vhost '\(configuration.vhost)'"
            switch close.reply_code {
            case 403:
                throw AMQPError(
                    .authenticationFailed, "the broker refused the login of \(who); check user name and password",
                    replyCode: 403, replyText: text
                )
            case 530 where text.contains("not found"):
                throw AMQPError(
                    .vhostNotFound, "vhost '\(configuration.vhost)' does not exist on the broker",
                    replyCode: 530, replyText: text
                )
            case 530:
                throw AMQPError(
                    .accessRefused, "\(who) may not use this vhost; grant permissions with rabbitmqctl set_permissions",
                    replyCode: 530, replyText: text
                )
            default:
                throw AMQPError(.protocolError, "the broker closed the connection during login", replyCode: close.reply_code, replyText: text)
            }
        case AMQP_RESPONSE_LIBRARY_EXCEPTION:
            let status = reply.library_error
            if status == AMQP_STATUS_TIMEOUT.rawValue {
                throw AMQPError(.timeout, "the broker did not complete the login handshake in time", detail: Self.statusText(status))
            }
            if status <= AMQP_STATUS_SSL_ERROR.rawValue && status > -0x0300 {
                throw AMQPError(.tlsFailed, "TLS failed during login", detail: Self.statusText(status))
            }
            throw AMQPError(
                .protocolError, "login failed: the broker closed the connection (is this an AMQP 0-9-1 port?)",
                detail: Self.statusText(status)
            )
        default:
            throw AMQPError(.protocolError, "login failed with an unexpected reply")
        }
        heartbeatSeconds = Int(amqp_get_heartbeat(state))
        if let table = amqp_get_server_properties(state) {
            let fields = CDecode.table(table.pointee)
            serverProperties = ServerProperties(
                product: fields["product"]?.stringValue,
                version: fields["version"]?.stringValue,
                platform: fields["platform"]?.stringValue,
                clusterName: fields["cluster_name"]?.stringValue
            )
        }
    }

    private func openChannel() throws(AMQPError) {
        let state = try liveState()
        amqp_channel_open(state, channel)
        try checkReply("open channel")
        channelOpen = true
        channelGeneration += 1
        nextPublishTag = 1
        if confirmMode {
            amqp_confirm_select(state, channel)
            try checkReply("enable publisher confirms")
        }
    }

    /// Reopens channel 1 after the broker closed it (or after a nack), restoring confirm mode.
    private func reopenChannel() throws(AMQPError) {
        let state = try liveState()
        if channelOpen {
            _ = amqp_channel_close(state, channel, Int32(AMQP_REPLY_SUCCESS))
            channelOpen = false
        }
        try openChannel()
    }

    /// Closes the connection politely (channel, then connection) and releases the handle. Safe to call twice.
    public func close() {
        guard let state else { return }
        if deathCause == nil {
            if channelOpen { _ = amqp_channel_close(state, channel, Int32(AMQP_REPLY_SUCCESS)) }
            _ = amqp_connection_close(state, Int32(AMQP_REPLY_SUCCESS))
        }
        amqp_destroy_connection(state)
        self.state = nil
        channelOpen = false
        if deathCause == nil { deathCause = AMQPError(.connectionLost, "the connection was closed") }
        logger.debug("amqp connection closed")
    }

    // MARK: - Errors

    private func liveState() throws(AMQPError) -> amqp_connection_state_t {
        if let deathCause { throw deathCause }
        guard let state else { throw AMQPError(.connectionLost, "the connection is closed") }
        return state
    }

    /// Marks the connection dead; it is destroyed by `close()` or deinit.
    private func die(_ error: AMQPError) -> AMQPError {
        if deathCause == nil {
            deathCause = error
            logger.debug("amqp connection lost", metadata: ["error.type": "\(error.code)"])
        }
        channelOpen = false
        return error
    }

    /// Reads a decoded method; a missing one means rabbitmq-c broke its contract.
    private func load<T>(_ pointer: UnsafeMutableRawPointer?, as type: T.Type) throws(AMQPError) -> T {
        guard let pointer else { throw die(AMQPError(.protocolError, "rabbitmq-c returned a method without its fields")) }
        return pointer.load(as: type)
    }

    static func statusText(_ status: Int32) -> String {
        String(cString: amqp_error_string2(status))
    }

    static func timeval(_ duration: Duration) -> Foundation.timeval {
        let (seconds, attoseconds) = duration.components
        return Foundation.timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
    }

    /// Turns the last RPC reply into an error, handling channel and connection closes.
    private func checkReply(_ operation: String, object: String? = nil) throws(AMQPError) {
        guard let state else { throw AMQPError(.connectionLost, "the connection is closed") }
        let reply = amqp_get_rpc_reply(state)
        try check(reply, operation, object: object)
    }

    private func check(_ reply: amqp_rpc_reply_t, _ operation: String, object: String? = nil) throws(AMQPError) {
        switch reply.reply_type {
        case AMQP_RESPONSE_NORMAL:
            return
        case AMQP_RESPONSE_LIBRARY_EXCEPTION:
            throw libraryError(reply.library_error, operation)
        case AMQP_RESPONSE_SERVER_EXCEPTION:
            if reply.reply.id == AMQP_CONNECTION_CLOSE_METHOD {
                let close = try load(reply.reply.decoded, as: amqp_connection_close_t.self)
                throw connectionClosedByBroker(close, operation)
            }
            if reply.reply.id == AMQP_CHANNEL_CLOSE_METHOD {
                let close = try load(reply.reply.decoded, as: amqp_channel_close_t.self)
                throw channelClosedByBroker(close, operation, object: object)
            }
            throw die(AMQPError(.protocolError, "\(operation): unexpected server reply \(reply.reply.id)"))
        default:
            throw die(AMQPError(.protocolError, "\(operation): no reply from the library"))
        }
    }

    private func libraryError(_ status: Int32, _ operation: String) -> AMQPError {
        if status == AMQP_STATUS_TIMEOUT.rawValue {
            return die(AMQPError(.timeout, "\(operation): the broker did not answer in time", detail: Self.statusText(status)))
        }
        return die(
            AMQPError(.connectionLost, "\(operation): the connection to the broker was lost", detail: Self.statusText(status))
        )
    }

    private func connectionClosedByBroker(_ close: amqp_connection_close_t, _ operation: String) -> AMQPError {
        if let state {
            var ok = amqp_connection_close_ok_t(dummy: 0)
            _ = amqp_send_method(state, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok)
        }
        let text = CDecode.string(close.reply_text)
        let code: AMQPError.Code = close.reply_code == 403 ? .accessRefused : .connectionLost
        return die(
            AMQPError(code, "\(operation): the broker closed the connection", replyCode: close.reply_code, replyText: text)
        )
    }

    private func channelClosedByBroker(_ close: amqp_channel_close_t, _ operation: String, object: String?) -> AMQPError {
        if let state {
            var ok = amqp_channel_close_ok_t(dummy: 0)
            _ = amqp_send_method(state, channel, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok)
        }
        channelOpen = false
        let text = CDecode.string(close.reply_text)
        let subject = object.map { "\(operation) \($0)" } ?? operation
        let error: AMQPError
        switch close.reply_code {
        case 406:
            error = AMQPError(
                .preconditionFailed,
                "\(subject): it exists with different settings; delete it or align the declaration",
                replyCode: 406, replyText: text
            )
        case 403:
            error = AMQPError(.accessRefused, "\(subject): permission denied", replyCode: 403, replyText: text)
        case 404:
            error = AMQPError(.channelClosed, "\(subject): not found", replyCode: 404, replyText: text)
        default:
            error = AMQPError(.channelClosed, "\(subject): the broker closed the channel", replyCode: close.reply_code, replyText: text)
        }
        // Reopen at once so the connection stays usable; if that fails the connection is dead.
        if deathCause == nil {
            do { try openChannel() } catch { _ = die(error) }
        }
        return error
    }

    // MARK: - Topology

    /// Declares exchanges, queues (with their argument tables) and bindings; idempotent.
    /// - Parameter topology: The objects to declare.
    /// - Throws: ``AMQPError``: `preconditionFailed` naming the object that exists with different settings (the
    ///   channel is reopened), `accessRefused`, `channelClosed`, `connectionLost`.
    public func declare(_ topology: Topology) throws {
        let state = try liveState()
        for exchange in topology.exchanges {
            let arena = CArena()
            amqp_exchange_declare(
                state, channel, arena.bytes(exchange.name), arena.bytes(exchange.kind.description), 0,
                exchange.durable ? 1 : 0, 0, 0, arena.table(AMQPFieldValue.table(exchange.arguments))
            )
            try checkReply("declare", object: "exchange '\(exchange.name)'")
        }
        for queue in topology.queues {
            let arena = CArena()
            amqp_queue_declare(
                state, channel, arena.bytes(queue.name), 0, 1, 0, 0, arena.table(AMQPFieldValue.table(queue.arguments))
            )
            try checkReply("declare", object: "queue '\(queue.name)'")
        }
        for binding in topology.bindings {
            let arena = CArena()
            amqp_queue_bind(
                state, channel, arena.bytes(binding.queue), arena.bytes(binding.exchange),
                arena.bytes(binding.routingKey), arena.table([:])
            )
            try checkReply(
                "bind", object: "queue '\(binding.queue)' to exchange '\(binding.exchange)' with '\(binding.routingKey)'"
            )
        }
    }

    /// Declares a queue passively: checks it exists and reads its counts.
    /// - Parameter queue: The queue name.
    /// - Returns: Ready messages and consumers.
    /// - Throws: ``AMQPError`` `channelClosed` (404) when the queue does not exist.
    public func queueStatus(_ queue: String) throws -> QueueStatus {
        let state = try liveState()
        let arena = CArena()
        let ok = amqp_queue_declare(state, channel, arena.bytes(queue), 1, 0, 0, 0, arena.table([:]))
        try checkReply("passive declare", object: "queue '\(queue)'")
        guard let ok else { throw die(AMQPError(.protocolError, "passive declare returned no result")) }
        return QueueStatus(messageCount: ok.pointee.message_count, consumerCount: ok.pointee.consumer_count)
    }

    /// Removes every ready message from a queue.
    /// - Parameter queue: The queue name.
    /// - Returns: The number of messages removed.
    /// - Throws: ``AMQPError``.
    @discardableResult
    public func purgeQueue(_ queue: String) throws -> UInt32 {
        let state = try liveState()
        let arena = CArena()
        let ok = amqp_queue_purge(state, channel, arena.bytes(queue))
        try checkReply("purge", object: "queue '\(queue)'")
        return ok?.pointee.message_count ?? 0
    }

    /// Deletes a queue, whatever it holds.
    /// - Parameter queue: The queue name.
    /// - Returns: The number of messages deleted with it.
    /// - Throws: ``AMQPError``.
    @discardableResult
    public func deleteQueue(_ queue: String) throws -> UInt32 {
        let state = try liveState()
        let arena = CArena()
        let ok = amqp_queue_delete(state, channel, arena.bytes(queue), 0, 0)
        try checkReply("delete", object: "queue '\(queue)'")
        return ok?.pointee.message_count ?? 0
    }

    /// Deletes an exchange.
    /// - Parameter exchange: The exchange name.
    /// - Throws: ``AMQPError``.
    public func deleteExchange(_ exchange: String) throws {
        let state = try liveState()
        let arena = CArena()
        amqp_exchange_delete(state, channel, arena.bytes(exchange), 0)
        try checkReply("delete", object: "exchange '\(exchange)'")
    }

    // MARK: - Heartbeats

    /// Lets rabbitmq-c send and check heartbeats while idle, and handles any frame that arrived.
    ///
    /// rabbitmq-c services heartbeats only inside library calls; an idle publisher must call this at less than
    /// half the heartbeat interval.
    /// - Throws: ``AMQPError`` `connectionLost` when the connection died.
    func tick() throws(AMQPError) {
        let state = try liveState()
        var frame = amqp_frame_t()
        var zero = Foundation.timeval(tv_sec: 0, tv_usec: 0)
        while true {
            let status = amqp_simple_wait_frame_noblock(state, &frame, &zero)
            if status == AMQP_STATUS_TIMEOUT.rawValue { return }
            guard status == AMQP_STATUS_OK.rawValue else { throw libraryError(status, "heartbeat") }
            try handleStrayFrame(frame, "heartbeat")
        }
    }

    /// Handles a frame nobody waits for: closes, late confirms and returns (ignored), content frames.
    private func handleStrayFrame(_ frame: amqp_frame_t, _ operation: String) throws(AMQPError) {
        guard frame.frame_type == UInt8(AMQP_FRAME_METHOD) else { return }
        switch frame.payload.method.id {
        case AMQP_CONNECTION_CLOSE_METHOD:
            throw connectionClosedByBroker(try load(frame.payload.method.decoded, as: amqp_connection_close_t.self), operation)
        case AMQP_CHANNEL_CLOSE_METHOD:
            throw channelClosedByBroker(try load(frame.payload.method.decoded, as: amqp_channel_close_t.self), operation, object: nil)
        case AMQP_BASIC_RETURN_METHOD:
            if let state {
                var message = amqp_message_t()
                let reply = amqp_read_message(state, frame.channel, &message, 0)
                if reply.reply_type == AMQP_RESPONSE_NORMAL { amqp_destroy_message(&message) }
            }
        default:
            return
        }
    }

    // MARK: - Publishing with confirms

    /// Puts the channel in confirm mode (once).
    func enableConfirms() throws(AMQPError) {
        guard !confirmMode else { return }
        let state = try liveState()
        amqp_confirm_select(state, channel)
        try checkReply("enable publisher confirms")
        confirmMode = true
        nextPublishTag = 1
    }

    private struct Pending {
        var index: Int
        var messageID: String?
        var exchange: String
        var routingKey: String
        var returned: AMQPError?
    }

    /// Publishes `messages` in windows of `window`, waiting for the broker's confirms.
    ///
    /// Returns one outcome per message, in order: success only after `basic.ack`; `nacked`, `unroutable`
    /// (mandatory and returned), `channelClosed`, `timeout` or `connectionLost` otherwise. After a nack the
    /// channel is reopened. After a connection loss every unconfirmed message fails with `connectionLost`.
    func publish(_ messages: [AMQPMessage], window: Int) -> [Result<Void, AMQPError>] {
        var outcomes = [Result<Void, AMQPError>?](repeating: nil, count: messages.count)
        let window = max(window, 1)
        var next = 0
        while next < messages.count {
            let end = min(next + window, messages.count)
            do {
                try publishWindow(messages, next..<end, into: &outcomes)
            } catch {
                for index in next..<messages.count where outcomes[index] == nil { outcomes[index] = .failure(error) }
                return outcomes.map { $0 ?? .failure(error) }
            }
            next = end
        }
        if let state { amqp_maybe_release_buffers(state) }
        return outcomes.map { $0 ?? .failure(AMQPError(.protocolError, "no confirm recorded")) }
    }

    private func publishWindow(
        _ messages: [AMQPMessage],
        _ range: Range<Int>,
        into outcomes: inout [Result<Void, AMQPError>?]
    ) throws(AMQPError) {
        var state = try liveState()
        if !channelOpen { try openChannel() }
        if !confirmMode { try enableConfirms() }
        var pending: [UInt64: Pending] = [:]
        var nacked = false

        func settle(_ tag: UInt64, _ outcome: (Pending) -> Result<Void, AMQPError>) {
            if let entry = pending.removeValue(forKey: tag) { outcomes[entry.index] = outcome(entry) }
        }
        func settleUpTo(_ tag: UInt64, multiple: Bool, _ outcome: (Pending) -> Result<Void, AMQPError>) {
            if multiple {
                for key in pending.keys where key <= tag { settle(key, outcome) }
            } else {
                settle(tag, outcome)
            }
        }
        func failAllPending(_ error: AMQPError) {
            for (_, entry) in pending { outcomes[entry.index] = .failure(error) }
            pending.removeAll()
        }

        for index in range {
            let message = messages[index]
            let arena = CArena()
            var properties = arena.properties(message.properties)
            let status = amqp_basic_publish(
                state, channel, arena.bytes(message.exchange), arena.bytes(message.routingKey),
                message.mandatory ? 1 : 0, 0, &properties, arena.bytes(message.body)
            )
            if status != AMQP_STATUS_OK.rawValue {
                let error = libraryError(status, "publish")
                failAllPending(error)
                for later in index..<range.upperBound { outcomes[later] = .failure(error) }
                throw error
            }
            pending[nextPublishTag] = Pending(
                index: index, messageID: message.properties.messageID, exchange: message.exchange,
                routingKey: message.routingKey
            )
            nextPublishTag += 1
        }

        let deadline = ContinuousClock.now + configuration.publishTimeout
        var frame = amqp_frame_t()
        while !pending.isEmpty {
            let remaining = deadline - ContinuousClock.now
            if remaining <= .zero {
                let error = AMQPError(.timeout, "no publisher confirm within the publish timeout; republish")
                failAllPending(error)
                // The tags of a later window would be ambiguous with late confirms: start over on a new connection.
                throw die(error)
            }
            var timeout = Self.timeval(min(remaining, .seconds(1)))
            state = try liveState()
            let status = amqp_simple_wait_frame_noblock(state, &frame, &timeout)
            if status == AMQP_STATUS_TIMEOUT.rawValue { continue }
            guard status == AMQP_STATUS_OK.rawValue else {
                let error = libraryError(status, "wait for publisher confirms")
                failAllPending(error)
                throw error
            }
            guard frame.frame_type == UInt8(AMQP_FRAME_METHOD) else { continue }
            let decoded = frame.payload.method.decoded
            switch frame.payload.method.id {
            case AMQP_BASIC_ACK_METHOD:
                let ack = try load(decoded, as: amqp_basic_ack_t.self)
                settleUpTo(ack.delivery_tag, multiple: ack.multiple != 0) { entry in
                    entry.returned.map { .failure($0) } ?? .success(())
                }
            case AMQP_BASIC_NACK_METHOD:
                let nack = try load(decoded, as: amqp_basic_nack_t.self)
                nacked = true
                settleUpTo(nack.delivery_tag, multiple: nack.multiple != 0) { entry in
                    .failure(AMQPError(.nacked, "the broker refused the message (basic.nack); republish it"))
                }
            case AMQP_BASIC_RETURN_METHOD:
                let returned = try load(decoded, as: amqp_basic_return_t.self)
                let replyCode = returned.reply_code
                let replyText = CDecode.string(returned.reply_text)
                let exchange = CDecode.string(returned.exchange)
                let routingKey = CDecode.string(returned.routing_key)
                var message = amqp_message_t()
                let reply = amqp_read_message(state, frame.channel, &message, 0)
                var messageID: String?
                if reply.reply_type == AMQP_RESPONSE_NORMAL {
                    messageID = CDecode.properties(message.properties).0.messageID
                    amqp_destroy_message(&message)
                } else {
                    do { try check(reply, "read a returned message") } catch {
                        failAllPending(error)
                        throw error
                    }
                }
                // Returns arrive in publish order, before the message's ack: the earliest unreturned pending
                // message with the same id (or, without ids, the same exchange and routing key) is the one.
                let candidates = pending.filter { _, entry in
                    entry.returned == nil && entry.exchange == exchange && entry.routingKey == routingKey
                        && (messageID == nil || entry.messageID == messageID)
                }
                if let tag = candidates.keys.min() {
                    pending[tag]?.returned = AMQPError(
                        .unroutable,
                        "no queue is bound to exchange '\(exchange)' for routing key '\(routingKey)' (basic.return)",
                        replyCode: replyCode, replyText: replyText
                    )
                    logger.debug(
                        "amqp message returned unroutable",
                        metadata: ["hub.message.id": "\(messageID ?? "-")", "hub.route": "\(routingKey)"]
                    )
                }
            case AMQP_CHANNEL_CLOSE_METHOD:
                let error = channelClosedByBroker(try load(decoded, as: amqp_channel_close_t.self), "publish", object: nil)
                failAllPending(error)
                throw error
            case AMQP_CONNECTION_CLOSE_METHOD:
                let error = connectionClosedByBroker(try load(decoded, as: amqp_connection_close_t.self), "publish")
                failAllPending(
                    AMQPError(
                        .connectionLost, "the broker closed the connection before confirming; republish",
                        replyCode: error.replyCode, replyText: error.replyText
                    )
                )
                throw error
            default:
                continue
            }
        }
        if nacked {
            logger.debug("amqp publisher nacked, reopening the channel")
            try reopenChannel()
        }
    }

    // MARK: - Consuming

    /// Sets the prefetch and starts a manual-ack consumer on `queue`.
    func startConsuming(queue: String, prefetch: UInt16) throws(AMQPError) -> String {
        let state = try liveState()
        amqp_basic_qos(state, channel, 0, prefetch, 0)
        try checkReply("set prefetch (basic.qos)")
        let arena = CArena()
        let ok = amqp_basic_consume(state, channel, arena.bytes(queue), amqp_bytes_t(len: 0, bytes: nil), 0, 0, 0, arena.table([:]))
        try checkReply("consume", object: "queue '\(queue)'")
        guard let ok else { throw die(AMQPError(.protocolError, "basic.consume returned no consumer tag")) }
        let tag = CDecode.string(ok.pointee.consumer_tag)
        consumerTag = tag
        return tag
    }

    /// Cancels the consumer (`basic.cancel`): no new deliveries; delivered ones can still be acked.
    func cancelConsuming() throws(AMQPError) {
        guard let tag = consumerTag else { return }
        let state = try liveState()
        let arena = CArena()
        amqp_basic_cancel(state, channel, arena.bytes(tag))
        try checkReply("cancel consumer")
        consumerTag = nil
    }

    /// A delivery copied out of rabbitmq-c's memory.
    struct RawDelivery: Sendable {
        var body: [UInt8]
        var exchange: String
        var routingKey: String
        var redelivered: Bool
        var deliveryTag: UInt64
        var properties: AMQPMessage.Properties
        var deliveryMode: UInt8?
        var channelGeneration: UInt64
    }

    /// Waits up to `timeout` for the next delivery; nil when none arrived (heartbeats are serviced meanwhile).
    func nextDelivery(timeout: Duration) throws(AMQPError) -> RawDelivery? {
        let state = try liveState()
        var envelope = amqp_envelope_t()
        var wait = Self.timeval(timeout)
        amqp_maybe_release_buffers(state)
        let reply = amqp_consume_message(state, &envelope, &wait, 0)
        switch reply.reply_type {
        case AMQP_RESPONSE_NORMAL:
            let (properties, deliveryMode) = CDecode.properties(envelope.message.properties)
            let delivery = RawDelivery(
                body: CDecode.bytes(envelope.message.body),
                exchange: CDecode.string(envelope.exchange),
                routingKey: CDecode.string(envelope.routing_key),
                redelivered: envelope.redelivered != 0,
                deliveryTag: envelope.delivery_tag,
                properties: properties,
                deliveryMode: deliveryMode,
                channelGeneration: channelGeneration
            )
            amqp_destroy_envelope(&envelope)
            return delivery
        case AMQP_RESPONSE_LIBRARY_EXCEPTION where reply.library_error == AMQP_STATUS_TIMEOUT.rawValue:
            return nil
        case AMQP_RESPONSE_LIBRARY_EXCEPTION where reply.library_error == AMQP_STATUS_UNEXPECTED_STATE.rawValue:
            // A frame other than basic.deliver: read it and act.
            var frame = amqp_frame_t()
            let status = amqp_simple_wait_frame(state, &frame)
            guard status == AMQP_STATUS_OK.rawValue else { throw libraryError(status, "consume") }
            if frame.frame_type == UInt8(AMQP_FRAME_METHOD) && frame.payload.method.id == AMQP_BASIC_CANCEL_METHOD {
                consumerTag = nil
                throw AMQPError(.channelClosed, "the broker cancelled the consumer (queue deleted or failed over)")
            }
            try handleStrayFrame(frame, "consume")
            return nil
        case AMQP_RESPONSE_LIBRARY_EXCEPTION:
            throw libraryError(reply.library_error, "consume")
        default:
            try check(reply, "consume")
            return nil
        }
    }

    /// Waits up to `timeout` for a delivery, then takes, without waiting, those that have already arrived, up to
    /// `limit` in all: one hop to the connection's thread for a burst of deliveries instead of one each. On a
    /// failure the deliveries read so far are dropped with the connection (the broker redelivers them).
    func nextDeliveries(timeout: Duration, limit: Int) throws(AMQPError) -> [RawDelivery] {
        guard let first = try nextDelivery(timeout: timeout) else { return [] }
        var deliveries = [first]
        while deliveries.count < limit, let next = try nextDelivery(timeout: .zero) {
            deliveries.append(next)
        }
        return deliveries
    }

    /// How to settle a delivery.
    enum Settlement: Sendable {
        case ack
        case nack(requeue: Bool)
        case reject(requeue: Bool)
    }

    /// Acks, nacks or rejects a delivery of this connection's channel generation `generation`.
    func settle(_ settlement: Settlement, deliveryTag: UInt64, multiple: Bool, generation: UInt64) throws(AMQPError) {
        guard isOpen, channelOpen, generation == channelGeneration else {
            throw AMQPError(
                .staleDelivery,
                "the delivery came from a connection or channel that no longer exists; the broker redelivers it"
            )
        }
        let state = try liveState()
        let status: Int32
        switch settlement {
        case .ack: status = amqp_basic_ack(state, channel, deliveryTag, multiple ? 1 : 0)
        case .nack(let requeue): status = amqp_basic_nack(state, channel, deliveryTag, multiple ? 1 : 0, requeue ? 1 : 0)
        case .reject(let requeue): status = amqp_basic_reject(state, channel, deliveryTag, requeue ? 1 : 0)
        }
        guard status == AMQP_STATUS_OK.rawValue else { throw libraryError(status, "acknowledge") }
    }

    /// Acknowledges several deliveries of one channel generation in one hop to the connection's thread (a batch's
    /// acks cost one thread switch instead of one each). Stops at the first failure: the connection or channel is
    /// gone, so the later ones could not be acked either (the broker redelivers them).
    /// - Returns: How many of `deliveryTags`, from the first, were acknowledged.
    func ack(deliveryTags: [UInt64], generation: UInt64) -> Int {
        for (index, tag) in deliveryTags.enumerated() {
            guard (try? settle(.ack, deliveryTag: tag, multiple: false, generation: generation)) != nil else { return index }
        }
        return deliveryTags.count
    }
}
