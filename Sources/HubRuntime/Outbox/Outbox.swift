public import HubStore

/// The transactional outbox, for code that emits messages outside a ``MessageHandler``: timers, adapter workers
/// that record an external system's answer, CLI commands that act on behalf of an operator.
///
/// Messages enqueued here commit or roll back with the caller's transaction and are published by the
/// ``OutboxRelay`` with confirms, in order per aggregate key, exactly as a handler's returned messages are.
public enum Outbox {
    /// Stores messages in the outbox in the caller's transaction and wakes the relay when it commits.
    /// - Parameters:
    ///   - messages: The messages, in the order they must be published (per aggregate key).
    ///   - producer: Who produced them (a queue or component name; kept on the row for operators).
    ///   - transaction: The caller's transaction.
    /// - Throws: A database error; nothing is stored then.
    public static func enqueue(
        _ messages: [OutboundMessage],
        producer: String,
        in transaction: PostgresTransaction
    ) async throws {
        guard !messages.isEmpty else { return }
        try await OutboxRow.insertAndNotify(messages.map { OutboxRow(producer: producer, message: $0) }, in: transaction)
    }
}
