public import HubStore

/// The audit schema (component `audit`): the chained records (partitioned by UTC month), the chain heads, the
/// fingerprints that flag redelivered copies, and the signed checkpoints.
public enum AuditMigrations {
    /// Every audit migration, in order.
    public static let all: [Migration] = [
        Migration(
            component: "audit",
            version: 1,
            name: "records, chain heads, fingerprints, checkpoints",
            sql: """
                CREATE SCHEMA IF NOT EXISTS audit;

                -- One row per message that crossed the hub (and per access / retention action), chained by SM3.
                -- Partitioned by the UTC month of received_at; partitions are created ahead by
                -- audit.ensure_partition and dropped only by `huitong audit partitions drop`.
                CREATE TABLE audit.records (
                    chain text NOT NULL,
                    seq bigint NOT NULL,
                    received_at timestamptz NOT NULL,
                    kind text NOT NULL,
                    exchange text NOT NULL,
                    routing_key text NOT NULL,
                    properties bytea NOT NULL,
                    body bytea NOT NULL,
                    body_sm3 bytea NOT NULL,
                    body_sealed boolean NOT NULL,
                    malformed text,
                    key_version bigint,
                    redelivered boolean NOT NULL,
                    message_id text,
                    message_type text,
                    correlation_id text,
                    enterprise_id text,
                    repeat_of bigint,
                    prev_hash bytea NOT NULL,
                    hash bytea NOT NULL,
                    PRIMARY KEY (chain, seq, received_at)
                ) PARTITION BY RANGE (received_at);
                CREATE INDEX records_correlation ON audit.records (correlation_id, chain, seq);
                CREATE INDEX records_enterprise ON audit.records (enterprise_id, chain, seq);
                CREATE INDEX records_type ON audit.records (message_type, chain, seq);
                CREATE INDEX records_received ON audit.records (chain, received_at);

                -- The head of each chain: the only row a writer locks to append.
                CREATE TABLE audit.chain_heads (
                    chain text PRIMARY KEY,
                    seq bigint NOT NULL DEFAULT 0,
                    hash bytea NOT NULL DEFAULT '\\x0000000000000000000000000000000000000000000000000000000000000000',
                    received_at timestamptz NOT NULL DEFAULT '1970-01-01 00:00:00+00',
                    dropped bigint NOT NULL DEFAULT 0  -- records removed by partition drops (for checkpoint counts)
                );

                -- First record of each distinct delivery (exchange, routing key, message_id, body): a later record
                -- with the same fingerprint is marked repeat_of (a broker redelivery, or a redrive).
                CREATE TABLE audit.fingerprints (
                    chain text NOT NULL,
                    fingerprint bytea NOT NULL,
                    seq bigint NOT NULL,
                    created_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (chain, fingerprint)
                );
                CREATE INDEX fingerprints_age ON audit.fingerprints (chain, created_at);

                -- SM2-signed statements of a chain's head.
                CREATE TABLE audit.checkpoints (
                    id bigserial PRIMARY KEY,
                    chain text NOT NULL,
                    head_seq bigint NOT NULL,
                    head_hash bytea NOT NULL,
                    record_count bigint NOT NULL,
                    created_at timestamptz NOT NULL,
                    payload bytea NOT NULL,
                    signature bytea NOT NULL,
                    signer_id text NOT NULL,
                    public_key text NOT NULL
                );
                CREATE INDEX checkpoints_chain ON audit.checkpoints (chain, head_seq);

                -- Creates the partition of the UTC month that contains `instant` if it does not exist; returns its
                -- name (records_yYYYYmMM). Serialised by an advisory lock so concurrent sinks do not race.
                CREATE FUNCTION audit.ensure_partition(instant timestamptz) RETURNS text
                LANGUAGE plpgsql AS $$
                DECLARE
                    first timestamp := date_trunc('month', instant AT TIME ZONE 'UTC');
                    name text := format('records_y%sm%s', to_char(first, 'YYYY'), to_char(first, 'MM'));
                BEGIN
                    IF to_regclass('audit.' || name) IS NOT NULL THEN
                        RETURN name;
                    END IF;
                    PERFORM pg_advisory_xact_lock(hashtext('huitong.audit.partitions'));
                    BEGIN
                        EXECUTE format(
                            'CREATE TABLE IF NOT EXISTS audit.%I PARTITION OF audit.records FOR VALUES FROM (%L) TO (%L)',
                            name, to_char(first, 'YYYY-MM-DD "00:00:00+00"'),
                            to_char(first + interval '1 month', 'YYYY-MM-DD "00:00:00+00"'));
                    EXCEPTION WHEN duplicate_table THEN
                        NULL;  -- another sink created it between our check and our CREATE
                    END;
                    RETURN name;
                END $$;

                -- Drops one partition (called by `huitong audit partitions drop` after the retention check, in the
                -- transaction that records the drop in the chain).
                CREATE FUNCTION audit.drop_partition(name text) RETURNS void
                LANGUAGE plpgsql AS $$
                BEGIN
                    IF name !~ '^records_y[0-9]{4}m[0-9]{2}$' THEN
                        RAISE EXCEPTION 'not an audit partition: %', name;
                    END IF;
                    EXECUTE format('DROP TABLE audit.%I', name);
                END $$;
                """
        ),
        Migration(
            component: "audit",
            version: 2,
            name: "records by message id (the gateway's GET /v1/messages/{id})",
            sql: """
                -- AuditQuery.messageID: one message's records. Created on the partitioned parent, so every existing
                -- and future monthly partition gets it.
                CREATE INDEX IF NOT EXISTS records_message ON audit.records (message_id, chain, seq);
                """
        ),
    ]
}
