#!/usr/bin/env bash
# The hub at work, on this machine: what `make run` runs after the servers are up, the build done and the
# database migrated.
#
#   1. dev keys for the simulators     huitong simulate keys --dir .local/keys
#   2. the bank simulator              huitong simulate interbank --port 8481
#   3. the e-CNY operator simulator    huitong simulate ecny --port 8482 --callback-url http://127.0.0.1:8480/callbacks/ecny/v1/settlements
#   4. every hub role                  huitong serve --roles all   (waits for http://127.0.0.1:8480/readyz)
#   5. the traffic generator           huitong demo                (in the foreground: a live one-screen summary)
#
# Ctrl-C stops the demo; then serve and the simulators get SIGTERM (in reverse order) and are waited for, so every
# in-flight message is finished or left for redelivery, never lost. Exit status 0 when everything stopped cleanly.
# A step whose command this build does not have (e.g. `simulate` before the adapters land) is skipped with a line
# that says so. Background processes run in their own session (setsid), so the terminal's Ctrl-C reaches only the
# demo and each of them gets exactly one SIGTERM from this script.
#
# Environment (all optional):
#   HUITONG_BIN           the binary                          default: .build/debug/huitong
#   HUITONG_LOCAL_DIR     state folder (logs in <dir>/run/)   default: .local
#   HUITONG_HTTP_PORT     serve's HTTP port                   default: 8480
#   HUITONG_DEMO_RATE     demo commands per second            default: 5
#   HUITONG_READY_TIMEOUT seconds to wait for /readyz         default: 120
#   HUITONG_STOP_TIMEOUT  seconds each process may take to stop after SIGTERM (then SIGKILL)  default: 40
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
BIN="${HUITONG_BIN:-.build/debug/huitong}"
LOCAL="${HUITONG_LOCAL_DIR:-$ROOT/.local}"
LOGS="$LOCAL/run"
HTTP_PORT="${HUITONG_HTTP_PORT:-8480}"
DEMO_RATE="${HUITONG_DEMO_RATE:-5}"
READY_TIMEOUT="${HUITONG_READY_TIMEOUT:-120}"
STOP_TIMEOUT="${HUITONG_STOP_TIMEOUT:-40}"

say() { echo "run.sh: $*" >&2; }

[ -x "$BIN" ] || { say "no $BIN; fix: build first (make build or swift build)"; exit 1; }
mkdir -p "$LOGS"

PIDS=()
NAMES=()

# has [PARENT…] NAME: does this build have the subcommand? It must be listed in the parent's --help (an unknown
# subcommand followed by --help prints the root help and exits 0, so the exit status says nothing).
has() {
    local last=${!#}
    local parent=("${@:1:$#-1}")
    "$BIN" "${parent[@]}" --help 2>/dev/null | grep -qE "^[[:space:]]+$last([[:space:]]|,|$)"
}

# start NAME COMMAND…: run in the background, in its own session, output to $LOGS/NAME.log.
start() {
    local name=$1
    shift
    setsid "$@" >"$LOGS/$name.log" 2>&1 &
    PIDS+=($!)
    NAMES+=("$name")
    say "started $name (pid $!, log $LOGS/$name.log)"
}

# stop_all: SIGTERM in reverse start order, wait for each, SIGKILL after STOP_TIMEOUT. Sets STOP_FAILED.
STOP_FAILED=0
stop_all() {
    local i pid name waited
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
        pid=${PIDS[$i]}
        name=${NAMES[$i]}
        if ! kill -0 "$pid" 2>/dev/null; then
            wait "$pid" 2>/dev/null
            local early=$?
            say "$name had already stopped (status $early; see $LOGS/$name.log)"
            [ "$early" -eq 0 ] || STOP_FAILED=1
            continue
        fi
        say "stopping $name (SIGTERM)…"
        kill -TERM "$pid" 2>/dev/null
        waited=0
        while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt $((STOP_TIMEOUT * 10)) ]; do
            sleep 0.1
            waited=$((waited + 1))
        done
        if kill -0 "$pid" 2>/dev/null; then
            say "$name did not stop within ${STOP_TIMEOUT}s; killing it (see $LOGS/$name.log)"
            kill -KILL "$pid" 2>/dev/null
            STOP_FAILED=1
        fi
        wait "$pid" 2>/dev/null
        local status=$?
        if [ "$status" -ne 0 ] && [ "$status" -ne 143 ]; then
            say "$name exited with status $status (see $LOGS/$name.log)"
            STOP_FAILED=1
        else
            say "$name stopped"
        fi
    done
}

# A Ctrl-C while starting up stops what was started; during the demo the demo handles it itself.
trap 'say "interrupted"; stop_all; exit 130' INT TERM

# 1–3. Simulators, when this build has them.
if has simulate; then
    if has simulate keys; then
        "$BIN" simulate keys --dir "$LOCAL/keys" >"$LOGS/keys.log" 2>&1 \
            || say "simulate keys failed (see $LOGS/keys.log); the simulators may refuse to start"
    else
        say "skipping dev keys: this build has no 'huitong simulate keys'"
    fi
    if has simulate interbank; then
        start sim-interbank "$BIN" simulate interbank --port 8481
    else
        say "skipping the bank simulator: this build has no 'huitong simulate interbank'"
    fi
    if has simulate ecny; then
        start sim-ecny "$BIN" simulate ecny --port 8482 \
            --callback-url "http://127.0.0.1:$HTTP_PORT/callbacks/ecny/v1/settlements"
    else
        say "skipping the e-CNY simulator: this build has no 'huitong simulate ecny'"
    fi
else
    say "skipping the simulators: this build has no 'huitong simulate' (the adapters are not merged yet)"
fi

# 4. Every hub role; wait for readiness.
start serve "$BIN" serve --roles all --http-port "$HTTP_PORT"
say "waiting for http://127.0.0.1:$HTTP_PORT/readyz …"
deadline=$((SECONDS + READY_TIMEOUT))
until curl -fsS -o /dev/null "http://127.0.0.1:$HTTP_PORT/readyz" 2>/dev/null; do
    if ! kill -0 "${PIDS[-1]}" 2>/dev/null; then
        say "serve exited at start-up:"
        tail -n 5 "$LOGS/serve.log" >&2
        stop_all
        exit 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
        say "serve was not ready within ${READY_TIMEOUT}s; fix: see $LOGS/serve.log"
        stop_all
        exit 1
    fi
    sleep 0.5
done
say "the hub is ready: http://127.0.0.1:$HTTP_PORT/readyz, /metrics"

# 5. The demo in the foreground. Its own SIGINT handling stops it gracefully; this script then stops the rest.
trap 'true' INT
"$BIN" demo --rate "$DEMO_RATE"
DEMO_STATUS=$?
trap 'say "interrupted again; still stopping"' INT
stop_all
if [ "$DEMO_STATUS" -ne 0 ]; then
    say "demo exited with status $DEMO_STATUS"
    exit 1
fi
[ "$STOP_FAILED" -eq 0 ] || exit 1
say "everything stopped cleanly"
exit 0
