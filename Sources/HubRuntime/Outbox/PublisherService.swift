public import HubAMQP
public import ServiceLifecycle

/// Runs an `AMQPPublisher` (heartbeats while idle) as a `Service`, and closes it on graceful shutdown.
///
/// Put it FIRST in the service group, before the relay and the consumers that publish through it: graceful shutdown
/// runs in reverse order, so the publisher is closed only after the consumers have settled their batches and the
/// relay has made its last pass.
///
/// ```swift
/// let group = ServiceGroup(
///     services: [PublisherService(publisher), relay, drainer, consumer],
///     gracefulShutdownSignals: [.sigterm], cancellationSignals: [.sigint], logger: logger)
/// ```
public struct PublisherService: Service {
    /// The publisher it runs.
    public let publisher: AMQPPublisher

    /// Wraps a publisher.
    /// - Parameter publisher: The publisher shared by the runtime's services.
    public init(_ publisher: AMQPPublisher) {
        self.publisher = publisher
    }

    /// Services heartbeats until graceful shutdown or cancellation, then closes the publisher.
    /// - Throws: Never in practice (connection errors lead to a reconnect on the next publish).
    public func run() async throws {
        try await cancelWhenGracefulShutdown {
            try await publisher.run()
        }
        await publisher.close()
    }
}
