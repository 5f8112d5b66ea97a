#!/usr/bin/env bash
# make schemathesis: the gateway's OpenAPI document (contracts/openapi.json) against the live gateway, every request
# signed (scripts/gateway_st_hooks.py). Requires zero 5xx and zero responses that violate the document. Uses HUITONG_AMQP_URL and
# HUITONG_DATABASE_URL like the tests; installs schemathesis (PyPI) into .local/venv-schemathesis if missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=.local/venv-schemathesis
HUITONG=${HUITONG_BIN:-.build/debug/huitong}
if [[ ! -x "$VENV/bin/schemathesis" ]]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet "schemathesis==4.32.5"   # pinned: the version this script and its hooks were checked with
fi
[[ -x "$HUITONG" ]] || { echo "schemathesis: build first (swift build)" >&2; exit 1; }

# A dedicated dev master key and a fresh partner allowed every type and enterprise, and the reviewer role.
export HUITONG_GATEWAY_DEV_KEY_DIR=.local/keys/gateway-schemathesis
PARTNER="st-$(date +%s)-$RANDOM"
SECRET=$("$HUITONG" partners add "$PARTNER" --type '*' --enterprise '*' --role partner --role reviewer --audit-unmask \
    | sed -n 's/^hmac-sm3 secret (shown once[^:]*: //p')
[[ ${#SECRET} -eq 64 ]] || { echo "schemathesis: could not register the test partner" >&2; exit 1; }

LOG=$(mktemp)
HUITONG_GATEWAY_AMQP_INGRESS=off HUITONG_GATEWAY_RATE=1000 HUITONG_GATEWAY_BURST=1000 \
    "$HUITONG" serve --roles gateway --http-port 0 >"$LOG" 2>&1 &
SERVER=$!
cleanup() { kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; "$HUITONG" partners revoke "$PARTNER" >/dev/null 2>&1 || true; rm -f "$LOG"; }
trap cleanup EXIT
for _ in $(seq 1 100); do
    PORT=$(sed -n 's/^listening on http:\/\/127.0.0.1:\([0-9]*\)$/\1/p' "$LOG")
    [[ -n "$PORT" ]] && break
    kill -0 "$SERVER" 2>/dev/null || { cat "$LOG" >&2; exit 1; }
    sleep 0.2
done
[[ -n "${PORT:-}" ]] || { echo "schemathesis: the gateway did not start" >&2; cat "$LOG" >&2; exit 1; }

# The read endpoints read the audit chain (AuditFlowQuerying); SCHEMATHESIS_INCLUDE_READS=0 leaves them out.
EXCLUDE=()
if [[ "${SCHEMATHESIS_INCLUDE_READS:-1}" != "1" ]]; then
    EXCLUDE=(--exclude-path-regex '^/v1/(messages/\{id\}|flows/|audit)')
fi
SCHEMATHESIS_HOOKS=scripts.gateway_st_hooks HUITONG_ST_PARTNER="$PARTNER" HUITONG_ST_SECRET="$SECRET" \
    "$VENV/bin/schemathesis" run contracts/openapi.json --url "http://127.0.0.1:$PORT" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
    --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-200}" "${EXCLUDE[@]}" --seed "${SCHEMATHESIS_SEED:-20261122}"
