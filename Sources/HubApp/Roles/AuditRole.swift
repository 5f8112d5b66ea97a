import AuditSink
import HubAMQP
import HubCore

extension HubRole {
    /// The audit sink: `tap.audit` bound to `#` on the commands, events and dead-letter exchanges; every message is
    /// appended to the SM3-chained `audit.records` (see docs/audit.md). Configuration: ``AuditSettings``.
    public static let audit = HubRole(
        name: "audit",
        consumers: [AuditSinkService.consumer()],
        isBuilt: true,
        build: { context in
            let settings = try AuditSettings(reader: context.reader)
            var amqp = context.amqp
            amqp.connectionName = "huitong serve \(settings.queue)"
            let store = AuditStore(pool: context.pool)
            let intake = AuditIntake(
                sensitiveFields: settings.sensitiveFields, keyring: try settings.keyring(logger: context.logger),
                sealMalformedBodies: settings.sealMalformed)
            let configuration = AuditSinkService.Configuration(
                consumer: AuditSinkService.consumer(queue: settings.queue, pattern: settings.bindingPattern), chain: settings.chain,
                batchSize: settings.batchSize, maximumBatchWait: settings.batchWait,
                checkpointInterval: settings.checkpointInterval, partitionsAhead: settings.partitionsAhead)
            let sink = AuditSinkService(
                configuration: configuration, store: store, intake: intake, amqp: amqp,
                signer: try settings.signer(logger: context.logger), logger: context.logger)
            return RoleParts(services: [sink])
        }
    )
}
