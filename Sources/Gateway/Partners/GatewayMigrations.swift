public import HubStore

/// The gateway's tables in schema `gateway` (component `gateway`).
public enum GatewayMigrations {
    /// Every gateway migration, in order.
    public static let all: [Migration] = [
        Migration(
            component: "gateway",
            version: 1,
            name: "partners, grants, credentials, nonces",
            sql: """
                CREATE SCHEMA gateway;
                CREATE TABLE gateway.partners (
                    id          text        PRIMARY KEY,
                    name        text        NOT NULL,
                    status      text        NOT NULL CHECK (status IN ('active', 'revoked')),
                    amqp_user   text,
                    created_at  timestamptz NOT NULL DEFAULT now(),
                    revoked_at  timestamptz
                );
                -- kind: 'type' (message type pattern), 'enterprise' (USCC or *), 'role' (partner, reviewer),
                -- 'permission' (audit:unmask).
                CREATE TABLE gateway.grants (
                    partner_id  text NOT NULL REFERENCES gateway.partners (id),
                    kind        text NOT NULL CHECK (kind IN ('type', 'enterprise', 'role', 'permission')),
                    value       text NOT NULL,
                    PRIMARY KEY (partner_id, kind, value)
                );
                -- An SM2 public key (PEM, not secret) or an HMAC-SM3 secret sealed with SM4 (HubCrypto sealed box,
                -- associated data 'gateway.credentials|<partner>|<version>'). valid_until is set when a rotation
                -- starts the old credential's overlap, or at once on revoke.
                CREATE TABLE gateway.credentials (
                    partner_id     text        NOT NULL REFERENCES gateway.partners (id),
                    version        int         NOT NULL,
                    kind           text        NOT NULL CHECK (kind IN ('sm2', 'hmac-sm3')),
                    public_key_pem text,
                    secret_sealed  bytea,
                    created_at     timestamptz NOT NULL DEFAULT now(),
                    valid_until    timestamptz,
                    PRIMARY KEY (partner_id, version),
                    CHECK ((kind = 'sm2' AND public_key_pem IS NOT NULL) OR (kind = 'hmac-sm3' AND secret_sealed IS NOT NULL))
                );
                -- Each nonce is accepted once; rows expire with the timestamp skew window and are pruned.
                CREATE TABLE gateway.nonces (
                    partner_id  text        NOT NULL,
                    nonce       text        NOT NULL,
                    expires_at  timestamptz NOT NULL,
                    PRIMARY KEY (partner_id, nonce)
                );
                CREATE INDEX nonces_expires_at ON gateway.nonces (expires_at);
                """
        )
    ]
}
