#!/usr/bin/env bash
# Local dependencies of Komek: Redis and RabbitMQ as plain local processes (no Docker here).
#
#   scripts/deps.sh ensure        Redis 127.0.0.1:6379 and RabbitMQ 127.0.0.1:5672 (guest/guest) installed
#                                 and running; curl installed. A no-op (that says so) when all are there.
#   scripts/deps.sh komek-redis   Komek's own persistent Redis for `make run` (appendonly yes,
#                                 appendfsync always; no RDB snapshots: the AOF is the persistence,
#                                 and a snapshot's fork every minute under load only costs), port $KOMEK_REDIS_PORT (default 6380), data in
#                                 .run/redis. Writes .run/redis/started-by-run only if it started it.
#   scripts/deps.sh bench-redis   the same for `make bench`: port 6391, data in .run/bench-redis (the bench
#                                 measures Komek on the durable Redis it would run on in production).
#   scripts/deps.sh chromium      Debian's chromium + chromium-driver, if missing.
#   scripts/deps.sh promtool      Debian's promtool (from the `prometheus` package, binary only: no
#                                 Prometheus server installed or started) in /usr/local/bin, if missing.
#   scripts/deps.sh kannel        Debian's kannel (bearerbox, smsbox) + kannel-extras (fakesmsc), if missing.
#   scripts/deps.sh kannel-run    kannel, then bearerbox + smsbox for `make run` with .run/kannel/kannel.conf
#                                 (fake SMSC 13910, sendsms 13913, get-url to intake 8081). Writes
#                                 .run/kannel/started-by-run only if it started them.
#   scripts/deps.sh email         aiosmtpd (PyPI, with pip), the SMTP server the email tests use as relay.
#   scripts/deps.sh email-run     email, then aiosmtpd for `make run` on 127.0.0.1:2526 (config/default.toml
#                                 [email] relay), every mail written to the Maildir .run/mail/maildir.
#                                 Writes .run/mail/started-by-run only if it started it.
#   scripts/deps.sh schemathesis  schemathesis (PyPI, pinned) in the venv .tools/schemathesis, for the
#                                 schema conformance test (tests/tests/schema_conformance.rs runs its `st`).
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

# Wait until AMQP answers or $1 seconds pass; 0 when it answers.
wait_amqp() {
    local deadline=$((SECONDS + $1))
    until amqp_ok; do
        ((SECONDS < deadline)) || return 1
        sleep 1
    done
}

rabbit_node_running() { pgrep -f 'beam.*-s rabbit boot' >/dev/null 2>&1; }

ensure_rabbitmq() {
    if amqp_ok; then
        say "rabbitmq $AMQP_HOST:$AMQP_PORT already running"
        return 0
    fi
    local rabbit start=$SECONDS
    rabbit="$(find_cmd rabbitmq-server)" || die "rabbitmq-server not found"
    if rabbit_node_running; then
        # A node is up but its AMQP listener is not: booting (just started by the package) or hung.
        # Give a booting node time; a hung one (seen: `rabbitmqctl status` never returns) is
        # stopped and started again, once.
        say "rabbitmq node running but $AMQP_PORT not answering yet; waiting"
        if ! wait_amqp 90; then
            say "rabbitmq node still not answering after 90 s; restarting it"
            need_root "restart rabbitmq-server"
            timeout 30 "${SUDO[@]}" rabbitmqctl stop >/dev/null 2>&1 || true
            if rabbit_node_running; then
                "${SUDO[@]}" pkill -KILL -f 'beam.*-s rabbit boot' || true
            fi
            local gone=$((SECONDS + 15))
            while rabbit_node_running && ((SECONDS < gone)); do sleep 0.5; done
            say "starting rabbitmq (rabbitmq-server -detached)"
            "${SUDO[@]}" "$rabbit" -detached
        fi
    else
        say "starting rabbitmq (rabbitmq-server -detached)"
        need_root "start rabbitmq-server"
        "${SUDO[@]}" "$rabbit" -detached
    fi
    if ! wait_amqp "$RABBIT_DEADLINE_S"; then
        printf 'deps: error: rabbitmq did not accept AMQP on %s:%s within %s s; see /var/log/rabbitmq/\n' \
            "$AMQP_HOST" "$AMQP_PORT" "$((SECONDS - start))" >&2
        exit 1
    fi
    say "rabbitmq $AMQP_HOST:$AMQP_PORT up after $((SECONDS - start)) s"
}

cmd_ensure() {
    ensure_packages
    ensure_redis
    ensure_rabbitmq
}

cmd_komek_redis() {
    local port="${KOMEK_REDIS_PORT:-6380}"
    local dir="${KOMEK_REDIS_DIR:-$REPO_ROOT/.run/redis}"
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
        --appendonly yes --appendfsync always --save "" \
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
    say "komek redis started on 127.0.0.1:$port (appendonly yes, appendfsync always, dir ${dir#"$REPO_ROOT"/})"
}

cmd_bench_redis() {
    KOMEK_REDIS_PORT=6391 KOMEK_REDIS_DIR="$REPO_ROOT/.run/bench-redis" cmd_komek_redis
}

cmd_chromium() {
    if [[ -x /usr/bin/chromium && -x /usr/bin/chromedriver ]]; then
        say "chromium and chromedriver present"
        return 0
    fi
    apt_install chromium chromium-driver
    say "chromium and chromedriver installed"
}

# Only the promtool binary out of Debian's `prometheus` package: installing the package would
# also install (and on some machines start) a Prometheus server nobody asked for.
cmd_promtool() {
    if command -v promtool >/dev/null 2>&1; then
        say "promtool present ($(command -v promtool))"
        return 0
    fi
    need_root "install promtool"
    if ! grep -q 'Candidate: [^(]' <<<"$(apt-cache policy prometheus 2>/dev/null || true)"; then
        say "running apt-get update"
        "${SUDO[@]}" apt-get update -qq
    fi
    local tmp
    tmp="$(mktemp -d)"
    chmod 755 "$tmp" # apt-get download runs as _apt
    (cd "$tmp" && apt-get download prometheus >/dev/null) || die "apt-get download prometheus failed"
    dpkg-deb -x "$tmp"/prometheus_*.deb "$tmp/x"
    "${SUDO[@]}" install -m 0755 "$tmp/x/usr/bin/promtool" /usr/local/bin/promtool
    rm -rf "$tmp"
    say "promtool installed: $(promtool --version 2>&1 | head -1)"
}

# fakesmsc ships in kannel-extras under Kannel's test directory, not on PATH.
fakesmsc_path() {
    local p
    for p in /usr/lib/kannel/test/fakesmsc /usr/lib/kannel/fakesmsc /usr/bin/fakesmsc; do
        [[ -x "$p" ]] && { printf '%s\n' "$p"; return 0; }
    done
    p="$(dpkg -L kannel-extras 2>/dev/null | grep '/fakesmsc$' | head -n 1 || true)"
    [[ -n "$p" && -x "$p" ]] && { printf '%s\n' "$p"; return 0; }
    return 1
}

cmd_kannel() {
    if find_cmd bearerbox >/dev/null && find_cmd smsbox >/dev/null && fakesmsc_path >/dev/null; then
        say "kannel and kannel-extras present"
        return 0
    fi
    apt_install kannel kannel-extras
    find_cmd bearerbox >/dev/null && find_cmd smsbox >/dev/null || die "bearerbox/smsbox missing after install"
    fakesmsc_path >/dev/null || die "fakesmsc missing after installing kannel-extras"
    say "kannel and kannel-extras installed"
}

# Kannel for `make run`: the fake SMSC connection on 13910 (drive it with fakesmsc), sendsms on 13913
# (matching config/default.toml [sms]), every inbound SMS handed to intake on 8081.
cmd_kannel_run() {
    cmd_kannel
    local dir="$REPO_ROOT/.run/kannel"
    local marker="$dir/started-by-run"
    mkdir -p "$dir"
    rm -f "$marker"
    if port_open 127.0.0.1 13913; then
        say "kannel sendsms 127.0.0.1:13913 already answering (not started by this run)"
        return 0
    fi
    local secret="${KOMEK_SMS_INBOUND_SECRET:-dev-inbound-secret}"
    cat >"$dir/kannel.conf" <<CONF
group = core
admin-port = 13900
admin-password = adm
smsbox-port = 13901
log-file = "$dir/bearer.log"
log-level = 1
box-allow-ip = 127.0.0.1
store-type = spool
store-location = "$dir/spool"

group = smsc
smsc = fake
smsc-id = FAKE
port = 13910
connect-allow-ip = 127.0.0.1

group = smsbox
bearerbox-host = 127.0.0.1
sendsms-port = 13913
log-file = "$dir/smsbox.log"
log-level = 1
mo-recode = true

group = sendsms-user
username = komek
password = secret
max-messages = 10
concatenation = true

group = sms-service
keyword = default
get-url = "http://127.0.0.1:8081/api/v1/channels/sms/inbound?secret=$secret&from=%p&to=%P&text=%a&coding=%c&id=%I"
max-messages = 0
accept-x-kannel-headers = true
CONF
    mkdir -p "$dir/spool"
    "$(find_cmd bearerbox)" "$dir/kannel.conf" >"$dir/bearerbox.out" 2>&1 </dev/null &
    echo $! >"$dir/bearerbox.pid"
    local deadline=$((SECONDS + 15))
    until port_open 127.0.0.1 13901; do
        ((SECONDS < deadline)) || die "bearerbox did not listen on 13901 within 15 s; see $dir/bearer.log"
        sleep 0.2
    done
    "$(find_cmd smsbox)" "$dir/kannel.conf" >"$dir/smsbox.out" 2>&1 </dev/null &
    echo $! >"$dir/smsbox.pid"
    deadline=$((SECONDS + 15))
    until port_open 127.0.0.1 13913; do
        ((SECONDS < deadline)) || die "smsbox did not listen on 13913 within 15 s; see $dir/smsbox.log"
        sleep 0.2
    done
    : >"$marker"
    say "kannel started: bearerbox (fake SMSC 13910) + smsbox (sendsms 13913), config .run/kannel/kannel.conf"
}

AIOSMTPD_VERSION=1.4.6

aiosmtpd_ok() { python3 -c 'import aiosmtpd' >/dev/null 2>&1; }

cmd_email() {
    if aiosmtpd_ok; then
        say "aiosmtpd present"
        return 0
    fi
    find_cmd python3 >/dev/null || apt_install python3
    python3 -m pip --version >/dev/null 2>&1 || apt_install python3-pip
    say "installing aiosmtpd==$AIOSMTPD_VERSION with pip"
    # Debian's own python3 is "externally managed" (PEP 668): then install for this user/root anyway.
    python3 -m pip install --quiet "aiosmtpd==$AIOSMTPD_VERSION" \
        || python3 -m pip install --quiet --break-system-packages "aiosmtpd==$AIOSMTPD_VERSION" \
        || die "pip install aiosmtpd failed"
    aiosmtpd_ok || die "aiosmtpd not importable after install"
    say "aiosmtpd installed"
}

# The SMTP relay for `make run`: aiosmtpd on 2526 writing every mail into a Maildir.
cmd_email_run() {
    cmd_email
    local dir="$REPO_ROOT/.run/mail"
    local marker="$dir/started-by-run"
    mkdir -p "$dir"
    rm -f "$marker"
    if port_open 127.0.0.1 2526; then
        say "SMTP relay 127.0.0.1:2526 already answering (not started by this run)"
        return 0
    fi
    python3 -m aiosmtpd -n -l 127.0.0.1:2526 -c aiosmtpd.handlers.Mailbox "$dir/maildir" \
        >"$dir/aiosmtpd.out" 2>&1 </dev/null &
    echo $! >"$dir/aiosmtpd.pid"
    local deadline=$((SECONDS + 15))
    until port_open 127.0.0.1 2526; do
        ((SECONDS < deadline)) || die "aiosmtpd did not listen on 2526 within 15 s; see $dir/aiosmtpd.out"
        sleep 0.2
    done
    : >"$marker"
    say "SMTP relay started: aiosmtpd 127.0.0.1:2526, mail in .run/mail/maildir/new"
}

SCHEMATHESIS_VERSION=4.32.5

# `st --version` prints "st, version X.Y.Z".
schemathesis_ok() {
    local st="$REPO_ROOT/.tools/schemathesis/bin/st"
    [[ -x "$st" ]] && [[ "$("$st" --version 2>/dev/null || true)" == *"version $SCHEMATHESIS_VERSION" ]]
}

# In a venv of its own: its dependencies (hypothesis, click, ...) pinned by it, not mixed into the
# system python3's packages.
cmd_schemathesis() {
    local venv="$REPO_ROOT/.tools/schemathesis"
    if schemathesis_ok; then
        say "schemathesis $SCHEMATHESIS_VERSION present (${venv#"$REPO_ROOT"/})"
        return 0
    fi
    find_cmd python3 >/dev/null || apt_install python3
    python3 -m venv --help >/dev/null 2>&1 && python3 -c 'import ensurepip' >/dev/null 2>&1 \
        || apt_install python3-venv
    if [[ ! -x "$venv/bin/python" ]]; then
        say "creating the venv ${venv#"$REPO_ROOT"/}"
        mkdir -p "$REPO_ROOT/.tools"
        python3 -m venv "$venv" || die "python3 -m venv $venv failed"
    fi
    say "installing schemathesis==$SCHEMATHESIS_VERSION with pip into ${venv#"$REPO_ROOT"/}"
    "$venv/bin/python" -m pip install --quiet "schemathesis==$SCHEMATHESIS_VERSION" \
        || die "pip install schemathesis failed"
    schemathesis_ok || die "$venv/bin/st --version does not print $SCHEMATHESIS_VERSION after install"
    say "schemathesis installed: $("$venv/bin/st" --version)"
}

usage() {
    echo "usage: $0 {ensure|komek-redis|bench-redis|chromium|promtool|kannel|kannel-run|email|email-run|schemathesis}" >&2
    exit 2
}

case "${1:-}" in
    ensure) cmd_ensure ;;
    komek-redis) cmd_komek_redis ;;
    bench-redis) cmd_bench_redis ;;
    chromium) cmd_chromium ;;
    promtool) cmd_promtool ;;
    kannel) cmd_kannel ;;
    kannel-run) cmd_kannel_run ;;
    email) cmd_email ;;
    email-run) cmd_email_run ;;
    schemathesis) cmd_schemathesis ;;
    *) usage ;;
esac
