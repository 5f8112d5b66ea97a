public import HubStore

/// The consumer runtime's tables in schema `hub` (component `hub`, versions 2 and up; version 1, `CREATE SCHEMA hub`,
/// is in `HubMigrations.all`). Run `HubMigrations.all + RuntimeMigrations.all`.
public enum RuntimeMigrations {
    /// Every runtime migration, in order.
    public static let all: [Migration] = [
        Migration(
            component: "hub",
            version: 2,
            name: "inbox and outbox",
            sql: """
                -- Deduplication: one row per (consumer, message id) handled. A duplicate delivery finds its row and
                -- ends there.
                CREATE TABLE hub.inbox (
                    consumer    text        NOT NULL,
                    message_id  uuid        NOT NULL,
                    received_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (consumer, message_id)
                );
                -- Messages to publish after the producing transaction commits. `lane` is a stable hash partition
                -- of aggregate_key: a relay publishes one lane at a time under an advisory lock, which keeps the
                -- order per aggregate key with several relays.
                CREATE TABLE hub.outbox (
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
                CREATE INDEX outbox_unsent ON hub.outbox (lane, id) WHERE sent_at IS NULL;
                CREATE INDEX outbox_sent_at ON hub.outbox (sent_at) WHERE sent_at IS NOT NULL;
                """
        ),
        Migration(
            component: "hub",
            version: 3,
            name: "parked messages and dead-letter actions",
            sql: """
                -- Messages parked for an operator, kept with their body and why they failed.
                CREATE TABLE hub.parked (
                    id                   bigserial   PRIMARY KEY,
                    queue                text        NOT NULL,
                    message_id           text,
                    message_type         text,
                    correlation_id       text,
                    reason               text        NOT NULL,
                    error_code           text        NOT NULL,
                    attempts             int         NOT NULL,
                    original_exchange    text        NOT NULL,
                    original_routing_key text        NOT NULL,
                    first_failed_at      timestamptz NOT NULL,
                    last_failed_at       timestamptz NOT NULL,
                    parked_at            timestamptz NOT NULL DEFAULT now(),
                    body                 bytea       NOT NULL,
                    headers              jsonb       NOT NULL DEFAULT '{}',
                    redriven_at          timestamptz,
                    redriven_by          text,
                    UNIQUE (queue, message_id)
                );
                CREATE INDEX parked_parked_at ON hub.parked (parked_at);
                -- What operators did to parked messages.
                CREATE TABLE hub.dlq_actions (
                    id          bigserial   PRIMARY KEY,
                    action      text        NOT NULL,
                    actor       text        NOT NULL,
                    queue       text,
                    message_ids text[]      NOT NULL,
                    count       int         NOT NULL,
                    at          timestamptz NOT NULL DEFAULT now()
                );
                """
        ),
        Migration(
            component: "hub",
            version: 4,
            name: "inbox retention index",
            sql: """
                -- The InboxPruner deletes rows older than the deduplication window by receive time.
                CREATE INDEX inbox_received_at ON hub.inbox (received_at);
                """
        ),
    ]
}
