#!/usr/bin/env bash
# `make run`: Komek's four services on this machine, against Komek's own persistent Redis (port 6380,
# see config/local.toml) and the local RabbitMQ. Ctrl-C stops everything this run started.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"

RUN_DIR="$REPO_ROOT/.run"
LOG_DIR="$RUN_DIR/logs"
REDIS_DIR="$RUN_DIR/redis"
REDIS_MARKER="$REDIS_DIR/started-by-run"
REDIS_PIDFILE="$REDIS_DIR/redis.pid"
READY_DEADLINE_S=60
STOP_DEADLINE_S=10

NAMES=(komek-intake komek-workspace komek-escalation komek-survey)
declare -A PORT=([komek-intake]=8081 [komek-workspace]=8082 [komek-escalation]=8083 [komek-survey]=8084)
declare -A PID=()

say() { printf 'run: %s\n' "$*"; }

# PID exists and is not a zombie (an exited daemon may wait for a reaper that never comes).
alive() {
    local stat
    kill -0 "$1" 2>/dev/null || return 1
    stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
    stat="${stat##*) }"
    [[ "${stat:0:1}" != "Z" ]]
}

# Wait until PID is gone, at most N seconds; 0 if gone.
wait_gone() {
    local pid=$1 deadline=$((SECONDS + $2))
    while alive "$pid"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.2
    done
    return 0
}

stop_services() {
    local name pid
    for name in "${NAMES[@]}"; do
        pid="${PID[$name]:-}"
        [[ -n "$pid" ]] && kill -TERM "$pid" 2>/dev/null || true
    done
    for name in "${NAMES[@]}"; do
        pid="${PID[$name]:-}"
        [[ -n "$pid" ]] || continue
        if ! wait_gone "$pid" "$STOP_DEADLINE_S"; then
            say "$name (pid $pid) did not stop within ${STOP_DEADLINE_S} s; killing it"
            kill -KILL "$pid" 2>/dev/null || true
        fi
        wait "$pid" 2>/dev/null || true
        say "stopped $name"
        unset "PID[$name]"
    done
}

# Kannel (bearerbox + smsbox) only if this run started it (scripts/deps.sh kannel-run wrote the marker).
KANNEL_DIR="$RUN_DIR/kannel"
OWN_KANNEL=0
stop_kannel() {
    [[ "$OWN_KANNEL" -eq 1 && -f "$KANNEL_DIR/started-by-run" ]] || return 0
    local box pid
    for box in smsbox bearerbox; do
        pid="$(cat "$KANNEL_DIR/$box.pid" 2>/dev/null || true)"
        if [[ "$pid" =~ ^[0-9]+$ ]] && alive "$pid" \
            && [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == "$box"* ]]; then
            kill -TERM "$pid" 2>/dev/null || true
            wait_gone "$pid" "$STOP_DEADLINE_S" || kill -KILL "$pid" 2>/dev/null || true
            say "stopped kannel $box (pid $pid)"
        fi
    done
    rm -f "$KANNEL_DIR/started-by-run"
}

# The SMTP relay (aiosmtpd) only if this run started it (scripts/deps.sh email-run wrote the marker).
MAIL_DIR="$RUN_DIR/mail"
OWN_MAIL=0
stop_mail() {
    [[ "$OWN_MAIL" -eq 1 && -f "$MAIL_DIR/started-by-run" ]] || return 0
    local pid
    pid="$(cat "$MAIL_DIR/aiosmtpd.pid" 2>/dev/null || true)"
    if [[ "$pid" =~ ^[0-9]+$ ]] && alive "$pid" \
        && grep -q aiosmtpd "/proc/$pid/cmdline" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        wait_gone "$pid" "$STOP_DEADLINE_S" || kill -KILL "$pid" 2>/dev/null || true
        say "stopped the SMTP relay aiosmtpd (pid $pid)"
    fi
    rm -f "$MAIL_DIR/started-by-run"
}

# Komek's Redis only if this run started it (scripts/deps.sh komek-redis wrote the marker in this run).
OWN_REDIS=0
stop_komek_redis() {
    [[ "$OWN_REDIS" -eq 1 && -f "$REDIS_MARKER" ]] || return 0
    local pid
    pid="$(cat "$REDIS_PIDFILE" 2>/dev/null || true)"
    # Only a live redis-server (the pid may have been reused since).
    if [[ "$pid" =~ ^[0-9]+$ ]] && alive "$pid" \
        && [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == redis-server* ]]; then
        kill -TERM "$pid" 2>/dev/null || true # SIGTERM: redis flushes the AOF and exits
        if wait_gone "$pid" "$STOP_DEADLINE_S"; then
            say "stopped komek redis (pid $pid)"
        else
            say "komek redis (pid $pid) still running after ${STOP_DEADLINE_S} s; see $REDIS_DIR/redis.log"
        fi
    fi
    rm -f "$REDIS_MARKER"
}

CLEANED=0
cleanup() {
    [[ "$CLEANED" -eq 0 ]] || return 0
    CLEANED=1
    stop_services
    stop_kannel
    stop_mail
    stop_komek_redis
}

on_signal() {
    trap '' INT TERM
    echo
    say "stopping"
    cleanup
    exit 0
}

# Any other exit (a failed step under set -e, a failed service) also cleans up.
trap cleanup EXIT
trap on_signal INT TERM

# Last lines of a service's log, then stop everything.
fail_service() {
    local name=$1 why=$2
    say "$name $why; last 20 lines of $LOG_DIR/$name.log:"
    tail -n 20 "$LOG_DIR/$name.log" 2>/dev/null | sed 's/^/    /' || true
    cleanup
    exit 1
}

http_status() { # url -> status code, 000 if no answer
    curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1" 2>/dev/null || true
}

port_open() {
    timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

# A port already taken (an earlier `make run` still up?) would make a new service fail to bind while the
# old one answers /readyz. Checked before touching Komek's Redis (another run may own it) and after the build.
check_ports_free() {
    local name
    for name in "${NAMES[@]}"; do
        if port_open "${PORT[$name]}"; then
            say "port ${PORT[$name]} ($name) is already in use; is another 'make run' still running?"
            exit 1
        fi
    done
}

check_ports_free
mkdir -p "$LOG_DIR"
scripts/deps.sh ensure
scripts/deps.sh komek-redis
if [[ -f "$REDIS_MARKER" ]]; then OWN_REDIS=1; fi
scripts/deps.sh kannel-run
if [[ -f "$KANNEL_DIR/started-by-run" ]]; then OWN_KANNEL=1; fi
scripts/deps.sh email-run
if [[ -f "$MAIL_DIR/started-by-run" ]]; then OWN_MAIL=1; fi

say "cargo build --bins"
cargo build --bins

for name in "${NAMES[@]}"; do
    [[ -x "target/debug/$name" ]] || { say "target/debug/$name missing after the build"; exit 1; }
done
check_ports_free

for name in "${NAMES[@]}"; do
    KOMEK_ENV=local "target/debug/$name" >"$LOG_DIR/$name.log" 2>&1 </dev/null &
    PID[$name]=$!
    say "started $name (pid ${PID[$name]}, log .run/logs/$name.log)"
done

deadline=$((SECONDS + READY_DEADLINE_S))
for name in "${NAMES[@]}"; do
    url="http://127.0.0.1:${PORT[$name]}/readyz"
    until [[ "$(http_status "$url")" == "200" ]]; do
        alive "${PID[$name]}" || fail_service "$name" "exited before it was ready"
        ((SECONDS < deadline)) || fail_service "$name" "not ready ($url) within ${READY_DEADLINE_S} s"
        sleep 0.5
    done
    say "$name ready"
done

echo
echo "Komek is running."
for name in "${NAMES[@]}"; do
    base="http://127.0.0.1:${PORT[$name]}"
    echo
    echo "$name  $base"
    for path in /openapi.json /healthz /readyz /metrics; do
        echo "    $base$path"
    done
done
cat <<'EOF'

Agents' page:          http://127.0.0.1:8082/
Departments' page:     http://127.0.0.1:8083/
Customer web form:     http://127.0.0.1:8081/
Customer form (POST):  http://127.0.0.1:8081/api/v1/requests
Public status:         http://127.0.0.1:8081/api/v1/requests/{number}/public?contact=...
Survey page:           http://127.0.0.1:8084/s/{token}
SMS (Kannel):          a customer's SMS: /usr/lib/kannel/test/fakesmsc -H 127.0.0.1 -r 13910 -m 1 "+77011234567 1414 text Сәлем..."
                       (replies print in that fakesmsc; Kannel logs in .run/kannel/)
Email:                 a customer's mail to intake's SMTP listener 127.0.0.1:2525, e.g.
                       python3 -c 'import smtplib; smtplib.SMTP("127.0.0.1", 2525).sendmail("a@mail.kz", ["support@komek.kz"], "From: a@mail.kz\nSubject: Hi\n\nInternet is down")'
                       (Komek's mails land in .run/mail/maildir/new, through aiosmtpd on 2526)

Demo logins:
EOF
if [[ -f config/demo-logins.txt ]]; then
    cat config/demo-logins.txt
else
    echo "    (config/demo-logins.txt not found)"
fi
echo
echo "Logs in .run/logs/. Ctrl-C stops everything."

# Wait for Ctrl-C (the trap exits 0); a service that exits on its own stops the rest.
while true; do
    exited=""
    wait -n -p exited "${PID[@]}" || true
    [[ -n "$exited" ]] || continue
    for name in "${NAMES[@]}"; do
        if [[ "${PID[$name]:-}" == "$exited" ]]; then
            unset "PID[$name]"
            fail_service "$name" "exited unexpectedly"
        fi
    done
done
