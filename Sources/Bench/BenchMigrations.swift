public import HubStore

/// The bench's own tables: the database ceiling's inbox-like and outbox-like tables (component `bench`).
public enum BenchMigrations {
    /// Every bench migration, in order.
    public static let all: [Migration] = [
        Migration(
            component: "bench",
            version: 1,
            name: "database ceiling tables",
            sql: """
                CREATE SCHEMA IF NOT EXISTS bench;
                -- Same shape and indexes as hub.inbox / hub.outbox, so that `huitong bench --ceiling` measures the
                -- commit rate of the runtime's own statements. Rows live only during a ceiling run.
                CREATE TABLE bench.ceiling_inbox (
                    consumer    text        NOT NULL,
                    message_id  uuid        NOT NULL,
                    received_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (consumer, message_id)
                );
                CREATE TABLE bench.ceiling_outbox (
                    id             bigserial   PRIMARY KEY,
                    producer       text        NOT NULL,
                    aggregate_key  text        NOT NULL,
                    lane           int         NOT NULL,
                    exchange       text        NOT NULL,
                    routing_key    text        NOT NULL,
                    message_id     uuid        NOT NULL,
                    message_type   text        NOT NULL,
                    correlation_id uuid,
                    body           bytea       NOT NULL,
                    headers        jsonb       NOT NULL DEFAULT '{}',
                    created_at     timestamptz NOT NULL DEFAULT now(),
                    sent_at        timestamptz
                );
                CREATE INDEX ceiling_outbox_unsent ON bench.ceiling_outbox (lane, id) WHERE sent_at IS NULL;
                """
        )
    ]
}
