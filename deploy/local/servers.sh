#!/usr/bin/env bash
# Local RabbitMQ and PostgreSQL for Huitong, on loopback only, with every byte of state under .local/.
#
#   deploy/local/servers.sh up        install what is missing, start both, create the hub's user/vhost/role/db
#   deploy/local/servers.sh down      stop what this script started (by PID), nothing else
#   deploy/local/servers.sh status    say what runs where
#   deploy/local/servers.sh restart-postgres   stop and start PostgreSQL only (used by fault tests)
#   deploy/local/servers.sh rabbitmqctl ARGS…  run rabbitmqctl against the local node (same cookie and node name)
#   deploy/local/servers.sh psql ARGS…         run psql as the database superuser over the private socket
#   deploy/local/servers.sh env       print the HUITONG_* URLs for these servers
#   deploy/local/servers.sh scratch NAME   (re)create an empty vhost and database NAME, for a benchmark run that
#                                     nothing else shares; prints `export HUITONG_…` lines for them (eval them)
#
# Environment (all optional):
#   HUITONG_LOCAL_DIR      state folder              default: <checkout>/.local
#   HUITONG_AMQP_PORT      RabbitMQ AMQP port        default: 5673 (the distribution port is this + 20000)
#   HUITONG_PG_PORT        PostgreSQL port           default: 5433
#   HUITONG_START_TIMEOUT  seconds to wait for start default: 60
#
# Every failure prints one line that starts with "servers.sh:" and says what to do, and exits non-zero.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
LOCAL="${HUITONG_LOCAL_DIR:-$ROOT/.local}"
AMQP_PORT="${HUITONG_AMQP_PORT:-5673}"
DIST_PORT=$((AMQP_PORT + 20000))
PG_PORT="${HUITONG_PG_PORT:-5433}"
TIMEOUT="${HUITONG_START_TIMEOUT:-60}"

HUB_USER=huitong
HUB_PASSWORD=huitong
HUB_VHOST=huitong
HUB_DB=huitong

RMQ_DIR="$LOCAL/rabbitmq"
# Another port gets another node name, so that two checkouts can run side by side (they share epmd).
if [ "$AMQP_PORT" = 5673 ]; then RMQ_NODE="huitong@localhost"; else RMQ_NODE="huitong-$AMQP_PORT@localhost"; fi
RMQ_PID="$RMQ_DIR/rabbitmq.pid"
PG_DIR="$LOCAL/postgres"
PG_DATA="$PG_DIR/data"
PG_SOCK="$PG_DIR/run"
PG_LOG="$PG_DIR/postgres.log"

die() { echo "servers.sh: $*" >&2; exit 1; }
say() { echo "servers.sh: $*"; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"
    elif command -v sudo >/dev/null 2>&1; then sudo -n "$@" || die "'$*' needs root; run as root or give this user passwordless sudo"
    else die "'$*' needs root and there is no sudo; run as root"
    fi
}

# PostgreSQL refuses to run as root, so as root it runs as the 'postgres' system user.
pg_user() { if [ "$(id -u)" -eq 0 ]; then echo postgres; else id -un; fi; }
as_pg() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_bin() {
    local dir
    for dir in /usr/lib/postgresql/*/bin; do [ -x "$dir/initdb" ] && { echo "$dir"; return; }; done
    return 1
}

# --- installation ------------------------------------------------------------------------------------------
PACKAGES=(rabbitmq-server postgresql librabbitmq-dev libpq-dev libssl-dev pkg-config openssl curl)

ensure_packages() {
    local missing=() p
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    command -v apt-get >/dev/null 2>&1 || die "missing packages (${missing[*]}) and no apt-get: install them by hand"
    say "installing ${missing[*]} (one time)"
    export DEBIAN_FRONTEND=noninteractive
    # The Debian packages try to start system services; a policy file keeps them from doing so.
    local policy=/usr/sbin/policy-rc.d created_policy=0
    if [ ! -e "$policy" ]; then
        as_root sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod +x $policy" && created_policy=1
    fi
    as_root apt-get update -qq >/dev/null || die "apt-get update failed: check the network or the apt sources"
    as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
        || die "apt-get install ${missing[*]} failed: run it by hand to see why"
    [ "$created_policy" -eq 1 ] && as_root rm -f "$policy"
    return 0
}

# --- ports -------------------------------------------------------------------------------------------------
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# --- RabbitMQ ----------------------------------------------------------------------------------------------
rmq_env() {
    export HOME="$RMQ_DIR/home"   # the Erlang cookie lives here, apart from any system node's
    export RABBITMQ_NODENAME="$RMQ_NODE"
    export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
    export RABBITMQ_NODE_PORT="$AMQP_PORT"
    export RABBITMQ_DIST_PORT="$DIST_PORT"
    export RABBITMQ_MNESIA_BASE="$RMQ_DIR/mnesia"
    export RABBITMQ_LOG_BASE="$RMQ_DIR/log"
    export RABBITMQ_PID_FILE="$RMQ_PID"
    export RABBITMQ_CONFIG_FILE="$RMQ_DIR/rabbitmq"       # .conf is appended by RabbitMQ
    export RABBITMQ_ENABLED_PLUGINS_FILE="$RMQ_DIR/enabled_plugins"
    export RABBITMQ_ADVANCED_CONFIG_FILE="$RMQ_DIR/advanced.config"
    export ERL_EPMD_ADDRESS=127.0.0.1
}

# /usr/lib/rabbitmq/bin/rabbitmqctl, not /usr/sbin's wrapper, which would switch to the rabbitmq user and its cookie.
rmq_ctl() { ( rmq_env; /usr/lib/rabbitmq/bin/rabbitmqctl -n "$RMQ_NODE" -q "$@" ); }

rmq_running() {
    [ -f "$RMQ_PID" ] || return 1
    local pid; pid="$(cat "$RMQ_PID" 2>/dev/null)" || return 1
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

rmq_provision() {
    # The hub's own user and vhost; guest is removed once ours exists. A marker keeps a second 'up' fast.
    [ -f "$RMQ_DIR/mnesia/.huitong-provisioned" ] && return 0
    if ! rmq_ctl list_vhosts --no-table-headers | grep -qx "$HUB_VHOST"; then rmq_ctl add_vhost "$HUB_VHOST" >/dev/null; fi
    if ! rmq_ctl list_users --no-table-headers | awk '{print $1}' | grep -qx "$HUB_USER"; then
        rmq_ctl add_user "$HUB_USER" "$HUB_PASSWORD" >/dev/null
    fi
    rmq_ctl set_permissions -p "$HUB_VHOST" "$HUB_USER" ".*" ".*" ".*" >/dev/null
    if rmq_ctl list_users --no-table-headers | awk '{print $1}' | grep -qx guest; then rmq_ctl delete_user guest >/dev/null; fi
    touch "$RMQ_DIR/mnesia/.huitong-provisioned"
}

rmq_up() {
    if rmq_running && port_open "$AMQP_PORT"; then rmq_provision; return 0; fi
    if port_open "$AMQP_PORT"; then
        die "port $AMQP_PORT is in use by another program; stop it or set HUITONG_AMQP_PORT to a free port"
    fi
    if port_open "$DIST_PORT"; then
        die "port $DIST_PORT (RabbitMQ distribution) is in use; stop that program or set HUITONG_AMQP_PORT"
    fi
    mkdir -p "$RMQ_DIR/home" "$RMQ_DIR/mnesia" "$RMQ_DIR/log"
    cat > "$RMQ_DIR/rabbitmq.conf" <<EOF
listeners.tcp.1 = 127.0.0.1:$AMQP_PORT
loopback_users = none
default_user = guest
default_pass = guest
log.file.level = info
log.console = false
EOF
    echo "[]." > "$RMQ_DIR/enabled_plugins"
    # Erlang distribution (CLI tools, clustering) listens on loopback only, like AMQP.
    echo "[{kernel, [{inet_dist_use_interface, {127,0,0,1}}]}]." > "$RMQ_DIR/advanced.config"
    say "starting RabbitMQ on 127.0.0.1:$AMQP_PORT"
    ( rmq_env; setsid /usr/lib/rabbitmq/bin/rabbitmq-server > "$RMQ_DIR/log/console.log" 2>&1 < /dev/null & )
    local started=$SECONDS
    until rmq_ctl await_startup --timeout 5 >/dev/null 2>&1; do
        sleep 1
        if [ $((SECONDS - started)) -ge "$TIMEOUT" ]; then
            tail -n 5 "$RMQ_DIR/log/console.log" >&2 || true
            die "RabbitMQ did not start within ${TIMEOUT}s; see $RMQ_DIR/log/"
        fi
    done
    rmq_provision
}

rmq_down() {
    if ! rmq_running; then say "RabbitMQ is not running (nothing of ours to stop)"; rm -f "$RMQ_PID"; return 0; fi
    local pid; pid="$(cat "$RMQ_PID")"
    say "stopping RabbitMQ (pid $pid)"
    rmq_ctl stop >/dev/null 2>&1 || kill -TERM "$pid" 2>/dev/null || true
    local i
    for i in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    rm -f "$RMQ_PID"
    # epmd was started on our behalf; stop it only when no other node is registered with it.
    if command -v epmd >/dev/null 2>&1; then
        local others
        others="$(ERL_EPMD_ADDRESS=127.0.0.1 epmd -names 2>/dev/null | grep -c '^name ' || true)"
        [ "${others:-0}" -eq 0 ] && epmd -kill >/dev/null 2>&1 || true
    fi
}

# --- PostgreSQL --------------------------------------------------------------------------------------------
pg_running() {
    local bin; bin="$(pg_bin)" || return 1
    [ -f "$PG_DATA/postmaster.pid" ] && as_pg "$bin/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1
}

pg_psql() {
    local bin; bin="$(pg_bin)"
    as_pg "$bin/psql" -X -q -h "$PG_SOCK" -p "$PG_PORT" -U "$(pg_user)" "$@"
}

pg_up() {
    local bin; bin="$(pg_bin)" || die "PostgreSQL binaries not found under /usr/lib/postgresql; install postgresql"
    if pg_running; then return 0; fi
    if port_open "$PG_PORT"; then
        die "port $PG_PORT is in use by another program; stop it or set HUITONG_PG_PORT to a free port"
    fi
    mkdir -p "$PG_DIR" "$PG_SOCK"
    if [ "$(id -u)" -eq 0 ]; then chown -R postgres:postgres "$PG_DIR"; fi
    chmod 700 "$PG_SOCK"
    if [ ! -f "$PG_DATA/PG_VERSION" ]; then
        say "initialising PostgreSQL data in $PG_DATA"
        as_pg "$bin/initdb" --auth-local=trust --auth-host=scram-sha-256 -U "$(pg_user)" -E UTF8 \
            --locale=C.UTF-8 -D "$PG_DATA" >"$PG_DIR/initdb.log" 2>&1 \
            || die "initdb failed; see $PG_DIR/initdb.log"
    fi
    say "starting PostgreSQL on 127.0.0.1:$PG_PORT"
    # A stale pid file from a killed postmaster would stop pg_ctl; it is ours, so remove it.
    [ -f "$PG_DATA/postmaster.pid" ] && rm -f "$PG_DATA/postmaster.pid"
    as_pg "$bin/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t "$TIMEOUT" \
        -o "-p $PG_PORT -k $PG_SOCK -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null \
        || { tail -n 5 "$PG_LOG" >&2 || true; die "PostgreSQL did not start; see $PG_LOG"; }
    if [ "$(pg_psql -d postgres -tAc "SELECT 1 FROM pg_roles WHERE rolname = '$HUB_USER'")" != "1" ]; then
        pg_psql -d postgres -c "CREATE ROLE $HUB_USER LOGIN PASSWORD '$HUB_PASSWORD'"
    fi
    if [ "$(pg_psql -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$HUB_DB'")" != "1" ]; then
        pg_psql -d postgres -c "CREATE DATABASE $HUB_DB OWNER $HUB_USER"
    fi
}

pg_down() {
    local bin; bin="$(pg_bin)" || { say "PostgreSQL is not installed"; return 0; }
    if ! pg_running; then say "PostgreSQL is not running (nothing of ours to stop)"; return 0; fi
    say "stopping PostgreSQL (pid $(head -n 1 "$PG_DATA/postmaster.pid"))"
    as_pg "$bin/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null
}

# --- commands ----------------------------------------------------------------------------------------------
print_env() {
    echo "HUITONG_AMQP_URL=amqp://$HUB_USER:$HUB_PASSWORD@127.0.0.1:$AMQP_PORT/$HUB_VHOST"
    echo "HUITONG_DATABASE_URL=postgres://$HUB_USER:$HUB_PASSWORD@127.0.0.1:$PG_PORT/$HUB_DB"
}

status() {
    if rmq_running; then echo "rabbitmq   running  pid $(cat "$RMQ_PID")  amqp://127.0.0.1:$AMQP_PORT/$HUB_VHOST  node $RMQ_NODE  data $RMQ_DIR"
    else echo "rabbitmq   stopped  (port $AMQP_PORT)"; fi
    if pg_running; then echo "postgresql running  pid $(head -n 1 "$PG_DATA/postmaster.pid")  postgres://127.0.0.1:$PG_PORT/$HUB_DB  data $PG_DATA"
    else echo "postgresql stopped  (port $PG_PORT)"; fi
}

case "${1:-}" in
    up)
        if rmq_running && pg_running && [ -f "$RMQ_DIR/mnesia/.huitong-provisioned" ]; then status; exit 0; fi
        ensure_packages
        pg_up
        rmq_up
        status
        ;;
    down)
        rmq_down
        pg_down
        ;;
    status)
        status
        rmq_running && pg_running
        ;;
    restart-postgres)
        pg_down
        pg_up
        ;;
    rabbitmqctl)
        shift
        rmq_ctl "$@"
        ;;
    psql)
        shift
        pg_psql "$@"
        ;;
    env)
        print_env
        ;;
    scratch)
        name="${2:-}"
        [[ "$name" =~ ^[a-z][a-z0-9_]{0,40}$ ]] || die "scratch needs a NAME of lower-case letters, digits and _ (e.g. bench1)"
        [ "$name" != "$HUB_VHOST" ] && [ "$name" != "$HUB_DB" ] && [ "$name" != postgres ] \
            || die "scratch would wipe the shared '$name'; pick another NAME"
        rmq_running && pg_running || die "the servers are not running; run deploy/local/servers.sh up first"
        pg_psql -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $name WITH (FORCE)" -c "CREATE DATABASE $name OWNER $HUB_USER" >/dev/null
        if rmq_ctl list_vhosts --no-table-headers | grep -qx "$name"; then rmq_ctl delete_vhost "$name" >/dev/null; fi
        rmq_ctl add_vhost "$name" >/dev/null
        rmq_ctl set_permissions -p "$name" "$HUB_USER" ".*" ".*" ".*" >/dev/null
        echo "export HUITONG_AMQP_URL=amqp://$HUB_USER:$HUB_PASSWORD@127.0.0.1:$AMQP_PORT/$name"
        echo "export HUITONG_DATABASE_URL=postgres://$HUB_USER:$HUB_PASSWORD@127.0.0.1:$PG_PORT/$name"
        ;;
    *)
        echo "usage: deploy/local/servers.sh up | down | status | restart-postgres | rabbitmqctl ARGS | psql ARGS | env | scratch NAME" >&2
        exit 2
        ;;
esac
