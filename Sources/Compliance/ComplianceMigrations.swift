public import HubStore

/// The `compliance` schema: cumulative totals (R-AML-5), the transactions behind them (R-AML-8 data elements),
/// reports, findings, counterparties seen, and holds with their reviews.
public enum ComplianceMigrations {
    /// Component `compliance`.
    public static let all: [Migration] = [
        Migration(
            component: "compliance",
            version: 1,
            name: "create compliance state, findings, reports and holds",
            sql: """
                CREATE SCHEMA IF NOT EXISTS compliance;

                -- Every money movement counted (or exempted), once per fact key (a resubmitted request counts once).
                CREATE TABLE compliance.transactions (
                    id              bigserial   PRIMARY KEY,
                    fact_key        text        NOT NULL UNIQUE,
                    message_id      uuid        NOT NULL,
                    message_type    text        NOT NULL,
                    customer_id     text        NOT NULL,
                    customer_kind   text        NOT NULL CHECK (customer_kind IN ('enterprise', 'person')),
                    direction       text        NOT NULL CHECK (direction IN ('in', 'out')),
                    criterion       text        NOT NULL,
                    amount_column   text        NOT NULL CHECK (amount_column IN ('RMB', 'USD')),
                    business_day    date        NOT NULL,
                    amount          numeric     NOT NULL CHECK (amount > 0),
                    currency        text        NOT NULL,
                    column_amount   numeric     NOT NULL,
                    occurred_at     timestamptz NOT NULL,
                    duplicate_key   text,
                    exempt_reason   text,
                    elements        jsonb       NOT NULL,
                    recorded_at     timestamptz NOT NULL DEFAULT now()
                );
                CREATE INDEX transactions_day ON compliance.transactions
                    (customer_id, direction, criterion, amount_column, business_day);
                CREATE INDEX transactions_duplicates ON compliance.transactions (duplicate_key, occurred_at)
                    WHERE duplicate_key IS NOT NULL;

                -- R-AML-5: per customer, per direction, per criterion and column, per Asia/Shanghai day. Never netted.
                CREATE TABLE compliance.daily_totals (
                    customer_id         text    NOT NULL,
                    direction           text    NOT NULL,
                    criterion           text    NOT NULL,
                    amount_column       text    NOT NULL,
                    business_day        date    NOT NULL,
                    total               numeric NOT NULL,
                    transactions        integer NOT NULL,
                    near_count          integer NOT NULL DEFAULT 0,
                    near_total          numeric NOT NULL DEFAULT 0,
                    report_id           uuid,
                    structuring_flagged boolean NOT NULL DEFAULT false,
                    PRIMARY KEY (customer_id, direction, criterion, amount_column, business_day)
                );

                CREATE TABLE compliance.reports (
                    report_id           uuid        PRIMARY KEY,
                    rules               text[]      NOT NULL,
                    customer_id         text        NOT NULL,
                    direction           text        NOT NULL,
                    criterion           text        NOT NULL,
                    business_day        date        NOT NULL,
                    total               numeric     NOT NULL,
                    currency            text        NOT NULL,
                    deadline            date        NOT NULL,
                    supplements         uuid,
                    subject_message_id  uuid        NOT NULL,
                    created_at          timestamptz NOT NULL DEFAULT now()
                );

                CREATE TABLE compliance.findings (
                    finding_id          uuid        PRIMARY KEY,
                    rule                text        NOT NULL,
                    severity            text        NOT NULL CHECK (severity IN ('note', 'warning', 'error')),
                    subject_message_id  uuid        NOT NULL,
                    subject_type        text        NOT NULL,
                    correlation_id      uuid,
                    summary             text        NOT NULL,
                    evidence            jsonb       NOT NULL,
                    raised_at           timestamptz NOT NULL DEFAULT now()
                );
                CREATE INDEX findings_subject ON compliance.findings (subject_message_id);

                -- First payments to a counterparty (hold policy "new counterparty").
                CREATE TABLE compliance.counterparties (
                    customer_id     text        NOT NULL,
                    counterparty    text        NOT NULL,
                    first_seen      timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (customer_id, counterparty)
                );

                -- One hold per held command; one verdict per screened command (cleared or this hold).
                CREATE TABLE compliance.holds (
                    hold_id             uuid        PRIMARY KEY,
                    subject_message_id  uuid        NOT NULL UNIQUE,
                    subject_type        text        NOT NULL,
                    correlation_id      uuid,
                    enterprise_id       text,
                    rules               text[]      NOT NULL,
                    reason              text        NOT NULL,
                    status              text        NOT NULL CHECK (status IN ('open', 'released', 'rejected', 'expired')),
                    approvals_required  integer     NOT NULL CHECK (approvals_required IN (1, 2)),
                    placed_at           timestamptz NOT NULL DEFAULT now(),
                    expires_at          timestamptz NOT NULL,
                    decided_at          timestamptz,
                    decision_reason     text
                );
                CREATE INDEX holds_open ON compliance.holds (expires_at) WHERE status = 'open';

                CREATE TABLE compliance.hold_reviews (
                    hold_id     uuid        NOT NULL REFERENCES compliance.holds (hold_id),
                    reviewer    text        NOT NULL,
                    decision    text        NOT NULL CHECK (decision IN ('release', 'reject')),
                    reason      text        NOT NULL,
                    reviewed_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (hold_id, reviewer)
                );
                """
        ),
        Migration(
            component: "compliance",
            version: 2,
            name: "watchlist hits already raised, for re-screening on list updates",
            sql: """
                -- One row per (list entry, screened value): a value found at message time or by a re-screening is
                -- never raised again for the same entry.
                CREATE TABLE compliance.watchlist_hits (
                    list                text        NOT NULL,
                    entry_id            text        NOT NULL,
                    subject_key         text        NOT NULL,
                    first_message_id    uuid        NOT NULL,
                    raised_at           timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (list, entry_id, subject_key)
                );
                CREATE INDEX transactions_recorded ON compliance.transactions (recorded_at);
                """
        ),
    ]
}
