#!/usr/bin/env bash
# Local dependencies of Komek: Redis and RabbitMQ as plain local processes (no Docker here).
#
#   scripts/deps.sh ensure        Redis 127.0.0.1:6379 and RabbitMQ 127.0.0.1:5672 (guest/guest) installed
#                                 and running; curl installed. A no-op (that says so) when all are there.
#   scripts/deps.sh komek-redis   Komek's own persistent Redis for `make run` (appendonly yes,
#                                 appendfsync always), port $KOMEK_REDIS_PORT (default 6380), data in
#                                 .run/redis. Writes .run/redis/started-by-run only if it started it.
#   scripts/deps.sh chromium      Debian's chromium + chromium-driver, if missing.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

REDIS_HOST=127.0.0.1
REDIS_PORT=6379
AMQP_HOST=127.0.0.1
AMQP_PORT=5672
RABBIT_DEADLINE_S=180

say() { printf 'deps: %s\n' "$*"; }
die() { printf 'deps: error: %s\n' "$*" >&2; exit 1; }

# sudo only when not root (and only checked when something needs root).
SUDO=()
[[ "$(id -u)" -eq 0 ]] || SUDO=(sudo)
need_root() {
    [[ ${#SUDO[@]} -eq 0 ]] || command -v sudo >/dev/null 2>&1 \
        || die "not root and no sudo: cannot $*"
}

# A command by name, also looking in the sbin directories (not on a non-root PATH).
find_cmd() {
    local c
    c="$(command -v "$1" 2>/dev/null)" && { printf '%s\n' "$c"; return 0; }
    for d in /usr/local/sbin /usr/sbin /sbin; do
        [[ -x "$d/$1" ]] && { printf '%s\n' "$d/$1"; return 0; }
    done
    return 1
}

APT_UPDATED=0
# apt_install PKG...: install with no recommends; `apt-get update` once if a package is not found.
apt_install() {
    local pkg policy need_update=0
    need_root "install $*"
    if [[ "$APT_UPDATED" -eq 0 ]]; then
        for pkg in "$@"; do
            # No candidate (fresh machine with empty package lists) -> update first.
            policy="$(apt-cache policy "$pkg" 2>/dev/null || true)"
            if ! grep -q 'Candidate: [^(]' <<<"$policy"; then
                need_update=1
            fi
        done
        if [[ "$need_update" -eq 1 ]]; then
            say "running apt-get update"
            "${SUDO[@]}" apt-get update -qq
            APT_UPDATED=1
        fi
    fi
    say "installing $*"
    if ! DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "$@"; then
        [[ "$APT_UPDATED" -eq 0 ]] || die "apt-get install $* failed"
        say "install failed; running apt-get update and retrying"
        "${SUDO[@]}" apt-get update -qq
        APT_UPDATED=1
        DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "$@" \
            || die "apt-get install $* failed"
    fi
}

# TCP port accepts a connection.
port_open() {
    timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null
}

redis_ping() { # host port
    [[ "$(timeout 3 redis-cli -h "$1" -p "$2" ping 2>/dev/null || true)" == "PONG" ]]
}

# RabbitMQ answers an AMQP 0-9-1 protocol header with a Connection.Start method frame (frame type 1).
amqp_ok() {
    local first
    first="$(timeout 3 bash -c "exec 3<>/dev/tcp/$AMQP_HOST/$AMQP_PORT || exit 1
        printf 'AMQP\\x00\\x00\\x09\\x01' >&3; head -c 1 <&3" 2>/dev/null | od -An -tx1 | tr -d ' \n' || true)"
    [[ "$first" == "01" ]]
}

ensure_packages() {
    local missing=()
    find_cmd redis-server >/dev/null || missing+=(redis-server)
    find_cmd redis-cli >/dev/null || missing+=(redis-tools)
    find_cmd rabbitmq-server >/dev/null || missing+=(rabbitmq-server)
    find_cmd curl >/dev/null || missing+=(curl)
    if [[ ${#missing[@]} -eq 0 ]]; then
        say "packages present: redis-server, redis-tools, rabbitmq-server, curl"
    else
        apt_install "${missing[@]}"
    fi
}

ensure_redis() {
    if redis_ping "$REDIS_HOST" "$REDIS_PORT"; then
        say "redis $REDIS_HOST:$REDIS_PORT already running"
        return 0
    fi
    say "starting redis on $REDIS_HOST:$REDIS_PORT"
    redis-server --daemonize yes --bind "$REDIS_HOST" --port "$REDIS_PORT" --save "" --appendonly no
    local deadline=$((SECONDS + 15))
    until redis_ping "$REDIS_HOST" "$REDIS_PORT"; do
        ((SECONDS < deadline)) || die "redis on $REDIS_HOST:$REDIS_PORT did not answer within 15 s"
        sleep 0.2
    done
    say "redis $REDIS_HOST:$REDIS_PORT up"
}

ensure_rabbitmq() {
    if amqp_ok; then
        say "rabbitmq $AMQP_HOST:$AMQP_PORT already running"
        return 0
    fi
    local rabbit
    rabbit="$(find_cmd rabbitmq-server)" || die "rabbitmq-server not found"
    if pgrep -f 'beam.*-s rabbit boot' >/dev/null 2>&1; then
        # A node is up but its AMQP listener is not (yet): booting, e.g. just started by the package.
        say "rabbitmq node running but $AMQP_PORT not answering yet; waiting"
    else
        say "starting rabbitmq (rabbitmq-server -detached)"
        need_root "start rabbitmq-server"
        "${SUDO[@]}" "$rabbit" -detached
    fi
    local start=$SECONDS deadline=$((SECONDS + RABBIT_DEADLINE_S))
    until amqp_ok; do
        if ((SECONDS >= deadline)); then
            printf 'deps: error: rabbitmq did not accept AMQP on %s:%s within %s s; see /var/log/rabbitmq/\n' \
                "$AMQP_HOST" "$AMQP_PORT" "$RABBIT_DEADLINE_S" >&2
            exit 1
        fi
        sleep 1
    done
    say "rabbitmq $AMQP_HOST:$AMQP_PORT up after $((SECONDS - start)) s"
}

cmd_ensure() {
    ensure_packages
    ensure_redis
    ensure_rabbitmq
}

cmd_komek_redis() {
    local port="${KOMEK_REDIS_PORT:-6380}"
    local dir="$REPO_ROOT/.run/redis"
    local marker="$dir/started-by-run"
    find_cmd redis-server >/dev/null && find_cmd redis-cli >/dev/null \
        || die "redis-server/redis-cli missing: run scripts/deps.sh ensure"
    mkdir -p "$dir"
    if redis_ping 127.0.0.1 "$port"; then
        # Not ours to stop at the end of this run.
        rm -f "$marker"
        local aof
        aof="$(timeout 3 redis-cli -h 127.0.0.1 -p "$port" config get appendonly 2>/dev/null | sed -n 2p || true)"
        say "komek redis 127.0.0.1:$port already running (not started by this run; appendonly=${aof:-?})"
        [[ "$aof" == "yes" ]] || say "warning: redis on $port is not running with appendonly yes"
        return 0
    fi
    rm -f "$marker"
    redis-server --daemonize yes --bind 127.0.0.1 --port "$port" \
        --appendonly yes --appendfsync always \
        --dir "$dir" --pidfile "$dir/redis.pid" --logfile "$dir/redis.log"
    local deadline=$((SECONDS + 15))
    until redis_ping 127.0.0.1 "$port"; do
        if ((SECONDS >= deadline)); then
            printf 'deps: error: komek redis on 127.0.0.1:%s did not answer within 15 s; last log lines:\n' "$port" >&2
            tail -n 20 "$dir/redis.log" >&2 2>/dev/null || true
            exit 1
        fi
        sleep 0.2
    done
    : >"$marker"
    say "komek redis started on 127.0.0.1:$port (appendonly yes, appendfsync always, dir .run/redis)"
}

cmd_chromium() {
    if [[ -x /usr/bin/chromium && -x /usr/bin/chromedriver ]]; then
        say "chromium and chromedriver present"
        return 0
    fi
    apt_install chromium chromium-driver
    say "chromium and chromedriver installed"
}

usage() {
    echo "usage: $0 {ensure|komek-redis|chromium}" >&2
    exit 2
}

case "${1:-}" in
    ensure) cmd_ensure ;;
    komek-redis) cmd_komek_redis ;;
    chromium) cmd_chromium ;;
    *) usage ;;
esac
