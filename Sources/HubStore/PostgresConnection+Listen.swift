extension PostgresConnection {
    /// Listens on a channel for the duration of `body`: LISTEN, run the body with the notifications, UNLISTEN.
    ///
    /// Use a connection dedicated to listening (`PostgresPool.withListener` opens one). The sequence polls the
    /// socket in short slices (250 ms), so the connection's other work is never starved; it ends when the task is
    /// cancelled and throws if the connection breaks.
    /// - Parameters:
    ///   - isolation: The caller's isolation (inferred).
    ///   - channel: The channel.
    ///   - body: The work; it receives the notifications as an `AsyncSequence`.
    /// - Returns: The body's result.
    /// - Throws: `PostgresError` with code `listenFailed` if LISTEN fails, or the body's error.
    public func withListener<Result>(
        isolation: isolated (any Actor)? = #isolation,
        channel: SQLIdentifier,
        _ body: (PostgresNotifications) async throws -> sending Result
    ) async throws -> sending Result {
        do {
            try await runTrusted("LISTEN \(channel.quoted)")
        } catch var error as PostgresError {
            error.code = .listenFailed
            throw error
        }
        let result: Result
        do {
            result = try await body(PostgresNotifications(connection: self, channel: channel.name))
        } catch {
            try? await runTrusted("UNLISTEN \(channel.quoted)")
            throw error
        }
        try? await runTrusted("UNLISTEN \(channel.quoted)")
        return result
    }
}

/// The notifications on one channel, as they arrive. Ends when the task is cancelled.
public struct PostgresNotifications: AsyncSequence, Sendable {
    /// The element type.
    public typealias Element = PostgresNotification

    let connection: PostgresConnection
    let channel: String

    /// Creates the iterator.
    /// - Returns: The iterator.
    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(connection: connection, channel: channel)
    }

    /// Waits for the next notification.
    public struct AsyncIterator: AsyncIteratorProtocol, Sendable {
        let connection: PostgresConnection
        let channel: String

        /// The next notification; nil once the task is cancelled.
        /// - Returns: The notification.
        /// - Throws: `PostgresError` with code `connectionClosed` if the connection breaks.
        public mutating func next() async throws -> PostgresNotification? {
            while !Task.isCancelled {
                if let notification = try await connection.nextNotification(channel: channel, timeoutMilliseconds: 250)
                {
                    return notification
                }
            }
            return nil
        }
    }
}
