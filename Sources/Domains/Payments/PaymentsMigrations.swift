public import HubStore

/// The `payments` schema: transfers (the state machine), idempotency keys, early compliance verdicts, batches and
/// their lines, and the R-PAY-5 duplicate-window index.
public enum PaymentsMigrations {
    /// Component `payments`.
    public static let all: [Migration] = [
        Migration(
            component: "payments",
            version: 1,
            name: "create payments schema",
            sql: """
                CREATE SCHEMA IF NOT EXISTS payments;

                -- R-PAY-2/3: one row per idempotency key; the recorded outcome stands for a replay.
                CREATE TABLE payments.requests (
                    enterprise_id     text        NOT NULL,
                    channel           text        NOT NULL,
                    kind              text        NOT NULL CHECK (kind IN ('transfer', 'batch')),
                    client_request_id text        NOT NULL,
                    payload_hash      bytea       NOT NULL,
                    message_id        uuid        NOT NULL,
                    outcome           text        NOT NULL CHECK (outcome IN ('accepted', 'rejected')),
                    reference_id      uuid        NOT NULL,
                    reason_code       text,
                    created_at        timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (enterprise_id, channel, kind, client_request_id)
                );

                CREATE TABLE payments.batches (
                    batch_ref          uuid        PRIMARY KEY,
                    enterprise_id      text        NOT NULL,
                    channel            text        NOT NULL,
                    batch_id           text        NOT NULL,
                    kind               text        NOT NULL,
                    original_batch_ref uuid        REFERENCES payments.batches (batch_ref),
                    command_id         uuid        NOT NULL,
                    correlation_id     uuid        NOT NULL,
                    line_count         int         NOT NULL,
                    control_sum        numeric     NOT NULL,
                    state              text        NOT NULL CHECK (state IN ('accepted', 'completed')),
                    created_at         timestamptz NOT NULL DEFAULT now(),
                    completed_at       timestamptz,
                    UNIQUE (enterprise_id, channel, batch_id)
                );

                CREATE TABLE payments.transfers (
                    transfer_id        uuid        PRIMARY KEY,
                    enterprise_id      text        NOT NULL,
                    channel            text        NOT NULL,
                    client_request_id  text        NOT NULL,
                    batch_ref          uuid        REFERENCES payments.batches (batch_ref),
                    line_sequence      int,
                    retry_of           uuid,  -- the original line (a transfer, or a refused line of batch_rejected_lines)
                    command_id         uuid        NOT NULL,
                    subject_message_id uuid        NOT NULL,
                    correlation_id     uuid        NOT NULL,
                    state              text        NOT NULL CHECK (state IN ('accepted', 'pendingCompliance',
                        'queued', 'executing', 'statusUnknown', 'settled', 'failed', 'rejected')),
                    instruction        jsonb       NOT NULL,
                    amount             numeric     NOT NULL CHECK (amount > 0),
                    currency           text        NOT NULL,
                    debtor_key         text        NOT NULL,
                    creditor_key       text        NOT NULL,
                    value_date         date        NOT NULL,
                    rail               text,
                    settlement_date    date,
                    uetr               uuid        UNIQUE,
                    end_to_end_id      text,
                    instruction_id     text,
                    hold_id            text,
                    last_status        text,
                    reason_code        text,
                    reason             text,
                    eligible_at        timestamptz,
                    next_check_at      timestamptz,
                    query_count        int         NOT NULL DEFAULT 0,
                    created_at         timestamptz NOT NULL DEFAULT now(),
                    updated_at         timestamptz NOT NULL DEFAULT now(),
                    final_at           timestamptz,
                    UNIQUE (batch_ref, line_sequence)
                );
                -- The timer's scans.
                CREATE INDEX transfers_due_checks ON payments.transfers (next_check_at)
                    WHERE state IN ('executing', 'statusUnknown');
                CREATE INDEX transfers_due_queued ON payments.transfers (eligible_at) WHERE state = 'queued';
                -- Compliance verdicts find the transfers of a screened command.
                CREATE INDEX transfers_subject ON payments.transfers (subject_message_id);
                -- R-PAY-5: same debtor, creditor, amount, currency and value date within the window.
                CREATE INDEX transfers_duplicate_window ON payments.transfers
                    (enterprise_id, debtor_key, creditor_key, amount, currency, value_date, created_at);
                CREATE INDEX transfers_retry_of ON payments.transfers (retry_of) WHERE retry_of IS NOT NULL;

                -- Lines of a batch that were refused at intake (accepted lines are transfers).
                CREATE TABLE payments.batch_rejected_lines (
                    batch_ref     uuid NOT NULL REFERENCES payments.batches (batch_ref),
                    line_sequence int  NOT NULL,
                    transfer_id   uuid NOT NULL,
                    reason_code   text NOT NULL,
                    reason        text NOT NULL,
                    PRIMARY KEY (batch_ref, line_sequence)
                );

                -- Compliance verdicts, which may arrive before the command they concern.
                CREATE TABLE payments.compliance_verdicts (
                    subject_message_id uuid        PRIMARY KEY,
                    verdict            text        NOT NULL CHECK (verdict IN ('cleared', 'held', 'released',
                        'rejected')),
                    hold_id            text,
                    reason             text,
                    updated_at         timestamptz NOT NULL DEFAULT now()
                );
                """
        )
    ]
}
