#!/usr/bin/env bash
# `make bench-peers`: the same load against Komek, django-helpdesk and Request Tracker 5, one after
# the other on this machine, and one table.
#
# Load (the same generator for all three): wrk -t2 -c20 -d${PEERS_SECS:-20}s --timeout 30s --latency
# with scripts/peers/ticket.lua, which POSTs a new ticket/request per call, each from a new customer
# (a phone number or email made of the run, wrk's thread and a per-thread counter).
#
# - Komek: POST /api/v1/requests on intake. The four release binaries ($KOMEK_BIN_DIR, default
#   target/release) with KOMEK_ENV=local, against a Redis of their own (scripts/deps.sh komek-redis:
#   appendonly yes, appendfsync always; port $PEERS_REDIS_PORT (6390), data in .run/peers/redis,
#   stopped and removed at the end) and the machine's RabbitMQ under a unique prefix (removed at the
#   end). Outbound SMS and email are off (empty sms.sendsms_url and email.relay_host; Komek has no
#   single "notifications enabled" switch). After wrk ends, `ZCARD {prefix}:queue` is polled until
#   every accepted request (every 201) is in the workspace queue: the end-to-end rate is the
#   accepted count over the time from the load's start until then.
# - django-helpdesk (PyPI, pinned below; venv in .tools/peers/venv): POST /api/tickets/ as a staff
#   user (basic auth, then a DRF token), SQLite (WAL) in .run/peers, gunicorn with 4 sync workers, mail to the
#   dummy backend. A fresh database every run.
# - Request Tracker 5 (Debian's request-tracker5, rt5-db-sqlite, rt5-standalone): POST
#   /REST/2.0/ticket as root (basic auth, then a session cookie), SQLite (Debian's dbconfig-common
#   database), rt-server with Starlet and 4 workers; its notification and autoreply scrips are disabled.
#
# Each system runs alone while measured: the others' servers are stopped between legs. Installs
# are idempotent (apt only when a package is missing, pip only when the pinned set changed). The
# table is printed and written into docs/benchmarks.md between the `peers:begin`/`peers:end` marks.
# On exit (also on error or Ctrl-C) every server this script started is stopped and Komek's
# prefix removed.
#
# Settings: PEERS_SECS (load seconds per system, 20), PEERS_DRAIN_SECS (how long Komek may take
# to queue every accepted request, 600), PEERS_ONLY (space-separated subset of "komek helpdesk rt"),
# PEERS_AUTH (the peers' sign-in per call, subset of "basic session"). Basic auth makes both peers
# hash the password on every call (Django: PBKDF2 with 1,000,000 rounds; RT: bcrypt cost 12), about
# 0.4 s of CPU each here, which caps them near 5/s on 2 cores whatever else they do; "session" signs
# in once (django-helpdesk: a DRF token; RT: the web login's session cookie). Komek's intake API is
# public (rate-limited per contact), so it has no such cost.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HERE="$REPO_ROOT/scripts/peers"
TOOLS="$REPO_ROOT/.tools/peers"
RUN="$REPO_ROOT/.run/peers"
VENV="$TOOLS/venv"

SECS="${PEERS_SECS:-20}"
DRAIN_SECS="${PEERS_DRAIN_SECS:-600}"
ONLY="${PEERS_ONLY:-komek helpdesk rt}"
AUTH_MODES="${PEERS_AUTH:-basic session}"
KOMEK_BIN_DIR="${KOMEK_BIN_DIR:-$REPO_ROOT/target/release}"
REDIS_PORT="${PEERS_REDIS_PORT:-6390}"
KOMEK_PORTS=(18081 18082 18083 18084)
HELPDESK_PORT=18092
RT_PORT=18093
WORKERS=4
WRK_ARGS=(-t2 -c20 "-d${SECS}s" --timeout 30s --latency)

# PyPI pins (django-helpdesk 2.6.1 needs Django >= 5.2).
PIP_PINS=(django-helpdesk==2.6.1 Django==5.2.20 djangorestframework==3.18.3 gunicorn==23.0.0 pika==1.3.2)
APT_PKGS=(wrk request-tracker5 rt5-db-sqlite rt5-standalone)

STAFF_USER=peers
PASSWORD=peers-bench-pw
RT_LIB=/usr/share/request-tracker5/lib
RT_SERVER=/usr/share/request-tracker5/libexec/rt-server
RT_DB=/var/lib/dbconfig-common/sqlite3/request-tracker5/rtdb
RT_SITE_CONFIG=/etc/request-tracker5/RT_SiteConfig.d/90-komek-peers.pm

RUN_ID="$(date -u +%Y%m%d%H%M%S)"
PREFIX="komek-peers-$RUN_ID-$$"

say() { printf 'peers: %s\n' "$*" >&2; }
die() { printf 'peers: error: %s\n' "$*" >&2; exit 1; }

SUDO=()
[[ "$(id -u)" -eq 0 ]] || SUDO=(sudo)

# ---------------------------------------------------------------------------------------------
# Cleanup: every server is started with setsid, so its process group (gunicorn's and Starlet's
# workers too) is stopped by its leader's pid.
# ---------------------------------------------------------------------------------------------
GROUPS_STARTED=()
REDIS_STARTED=0
AMQP_PREFIX_USED=0

stop_group() {
    local pid="$1" deadline
    kill -TERM -- "-$pid" 2>/dev/null || return 0
    deadline=$((SECONDS + 30))
    while kill -0 -- "-$pid" 2>/dev/null; do
        if ((SECONDS >= deadline)); then
            kill -KILL -- "-$pid" 2>/dev/null || true
            break
        fi
        sleep 0.1
    done
}

stop_all_groups() {
    local pid
    for pid in "${GROUPS_STARTED[@]}"; do stop_group "$pid"; done
    GROUPS_STARTED=()
}

# Komek's prefix out of RabbitMQ, and its Redis (this run's alone) stopped and its data removed;
# after its services are stopped, since a running service declares its queues again.
komek_teardown() {
    if ((AMQP_PREFIX_USED)); then
        "$VENV/bin/python" "$HERE/amqp_clean.py" "$PREFIX" >&2 || true
        AMQP_PREFIX_USED=0
    fi
    if ((REDIS_STARTED)); then
        redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
        rm -rf "$RUN/redis"
        REDIS_STARTED=0
    fi
}

cleanup() {
    local status=$?
    set +e
    stop_all_groups
    komek_teardown
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start NAME CMD...: runs CMD in its own session, output to .run/peers/logs/NAME.log.
start() {
    local name="$1"
    shift
    setsid "$@" >"$RUN/logs/$name.log" 2>&1 &
    GROUPS_STARTED+=("$!")
}

# wait_http URL WHAT SECONDS [CURL_ARGS...]: until URL answers with any HTTP status below 500.
wait_http() {
    local url="$1" what="$2" within="$3" code
    shift 3
    local deadline=$((SECONDS + within))
    while :; do
        code="$(curl -s -o /dev/null -w '%{http_code}' "$@" "$url" || true)"
        [[ "$code" =~ ^[1-4][0-9][0-9]$ ]] && return 0
        ((SECONDS < deadline)) || die "$what did not answer within ${within}s (logs in .run/peers/logs)"
        sleep 0.2
    done
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# ---------------------------------------------------------------------------------------------
# Installs
# ---------------------------------------------------------------------------------------------
install_apt() {
    local missing=() p
    for p in "${APT_PKGS[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    if ((${#missing[@]} == 0)); then
        say "Debian packages present: ${APT_PKGS[*]}"
        return 0
    fi
    say "installing from Debian: ${missing[*]}"
    "${SUDO[@]}" apt-get update -qq
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >&2
}

install_pip() {
    local stamp="$TOOLS/pins.txt"
    if [[ -x "$VENV/bin/gunicorn" && -f "$stamp" && "$(cat "$stamp")" == "${PIP_PINS[*]}" ]]; then
        say "django-helpdesk venv present (.tools/peers/venv)"
        return 0
    fi
    say "installing into .tools/peers/venv: ${PIP_PINS[*]}"
    mkdir -p "$TOOLS"
    [[ -x "$VENV/bin/python" ]] || python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check "${PIP_PINS[@]}" >&2
    printf '%s' "${PIP_PINS[*]}" >"$stamp"
}

# ---------------------------------------------------------------------------------------------
# The load and its figures
# ---------------------------------------------------------------------------------------------
ROWS=()
LOADS=""

# run_wrk KIND URL OUTFILE [ENV...]: the load; prints the PEERS_RESULT fields.
run_wrk() {
    local kind="$1" url="$2" out="$3"
    shift 3
    env PEER_KIND="$kind" PEER_RUN="$RUN_ID" "$@" \
        wrk "${WRK_ARGS[@]}" -s "$HERE/ticket.lua" "$url" >"$out" 2>&1 \
        || { cat "$out" >&2; die "wrk failed against $kind"; }
    cat "$out" >&2
    grep -q '^PEERS_RESULT ' "$out" || die "no PEERS_RESULT line from wrk against $kind"
}

# field OUTFILE NAME: one key=value of the PEERS_RESULT line.
field() { sed -n 's/^PEERS_RESULT .*\b'"$2"'=\([0-9.]*\).*/\1/p' "$1"; }

# add_row SYSTEM VERSION SETUP OUTFILE E2E
add_row() {
    local system="$1" version="$2" setup="$3" out="$4" e2e="$5"
    local responses ok connect read write secs p50 p99 sent errors rate
    responses="$(field "$out" responses)"
    ok="$(field "$out" ok)"
    connect="$(field "$out" connect)"
    read="$(field "$out" read)"
    write="$(field "$out" write)"
    secs="$(field "$out" secs)"
    p50="$(field "$out" p50_ms)"
    p99="$(field "$out" p99_ms)"
    sent=$((responses + connect + read + write))
    errors=$((sent - ok))
    rate="$(awk -v n="$ok" -v s="$secs" 'BEGIN { printf "%.1f", n / s }')"
    ROWS+=("$system|$version|$setup|$sent|$ok|$errors|$rate|$p50 / $p99|$e2e")
}

# ---------------------------------------------------------------------------------------------
# Komek
# ---------------------------------------------------------------------------------------------
leg_komek() {
    local svc bin i out
    for svc in intake workspace escalation survey; do
        [[ -x "$KOMEK_BIN_DIR/komek-$svc" ]] \
            || die "$KOMEK_BIN_DIR/komek-$svc missing: cargo build --release --bins (make bench-peers does)"
    done
    for i in "${KOMEK_PORTS[@]}"; do port_free "$i" || die "port $i is taken"; done
    port_free "$REDIS_PORT" || die "port $REDIS_PORT is taken: stop that Redis or set PEERS_REDIS_PORT"
    "$REPO_ROOT/scripts/deps.sh" ensure >&2
    rm -rf "$RUN/redis"
    REDIS_STARTED=1
    KOMEK_REDIS_PORT="$REDIS_PORT" KOMEK_REDIS_DIR="$RUN/redis" "$REPO_ROOT/scripts/deps.sh" komek-redis >&2
    AMQP_PREFIX_USED=1
    say "Komek: prefix $PREFIX, Redis 127.0.0.1:$REDIS_PORT (appendonly, fsync always)"
    for svc in intake workspace escalation survey; do
        start "komek-$svc" env KOMEK_ENV=local KOMEK_CONFIG_DIR="$REPO_ROOT/config" \
            KOMEK__REDIS__URL="redis://127.0.0.1:$REDIS_PORT/" \
            KOMEK__REDIS__PREFIX="$PREFIX" KOMEK__AMQP__PREFIX="$PREFIX" \
            KOMEK__SERVICES__INTAKE="${KOMEK_PORTS[0]}" KOMEK__SERVICES__WORKSPACE="${KOMEK_PORTS[1]}" \
            KOMEK__SERVICES__ESCALATION="${KOMEK_PORTS[2]}" KOMEK__SERVICES__SURVEY="${KOMEK_PORTS[3]}" \
            KOMEK__SURVEY__PUBLIC_BASE_URL="http://127.0.0.1:${KOMEK_PORTS[3]}" \
            KOMEK__SMS__SENDSMS_URL="" KOMEK__EMAIL__RELAY_HOST="" KOMEK__EMAIL__SMTP_PORT=0 \
            KOMEK__WEB__API_PER_ADDRESS=0 \
            "$KOMEK_BIN_DIR/komek-$svc"
    done
    for i in 0 1 2 3; do
        wait_http "http://127.0.0.1:${KOMEK_PORTS[$i]}/readyz" "komek service on ${KOMEK_PORTS[$i]}" 60
    done
    local url="http://127.0.0.1:${KOMEK_PORTS[0]}/api/v1/requests"
    out="$RUN/wrk-komek.txt"
    say "Komek: wrk ${WRK_ARGS[*]} $url"
    local t0 t1 ok queued deadline
    t0="$(date +%s.%N)"
    run_wrk komek "$url" "$out"
    ok="$(field "$out" ok)"
    deadline=$((SECONDS + DRAIN_SECS))
    while :; do
        queued="$(redis-cli -p "$REDIS_PORT" zcard "$PREFIX:queue")"
        ((queued >= ok)) && break
        ((SECONDS < deadline)) || die "Komek: $queued of $ok accepted requests queued after ${DRAIN_SECS}s"
        sleep 0.05
    done
    t1="$(date +%s.%N)"
    local e2e
    e2e="$(awk -v n="$ok" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f/s (%d queued in %.1f s)", n / (b - a), n, b - a }')"
    say "Komek end to end: $e2e"
    local version
    # The commit of the tree the binaries are in (KOMEK_BIN_DIR may be another checkout's).
    version="$(sed -n 's/^version = "\(.*\)"/\1/p' "$REPO_ROOT/Cargo.toml" | head -1) ($(git -C "$KOMEK_BIN_DIR" rev-parse --short HEAD 2>/dev/null || git -C "$REPO_ROOT" rev-parse --short HEAD))"
    add_row "Komek" "$version" \
        "4 release binaries (actix, 2 workers each), Redis AOF fsync always, RabbitMQ" "$out" "$e2e"
    stop_all_groups
    komek_teardown
}

# ---------------------------------------------------------------------------------------------
# django-helpdesk
# ---------------------------------------------------------------------------------------------
leg_helpdesk() {
    port_free "$HELPDESK_PORT" || die "port $HELPDESK_PORT is taken"
    local db="$RUN/helpdesk.sqlite3" queue token out auth authz label
    rm -f "$db" "$db-wal" "$db-shm"
    export PYTHONPATH="$HERE" DJANGO_SETTINGS_MODULE=dh_settings PEERS_HELPDESK_DB="$db"
    "$VENV/bin/django-admin" migrate -v0 >&2
    read -r queue token < <("$VENV/bin/python" "$HERE/dh_setup.py" "$STAFF_USER" "$PASSWORD")
    local url="http://127.0.0.1:$HELPDESK_PORT/api/tickets/"
    local version
    version="$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("django-helpdesk"), "(Django", m.version("Django") + ")")')"
    for auth in $AUTH_MODES; do
        # A server per mode: calls still queued in gunicorn when wrk stops would eat the next run.
        start helpdesk "$VENV/bin/gunicorn" -w "$WORKERS" -b "127.0.0.1:$HELPDESK_PORT" \
            --pythonpath "$HERE" 'django.core.wsgi:get_wsgi_application()'
        wait_http "$url" "gunicorn (django-helpdesk)" 60
        case "$auth" in
            basic) authz="Basic $(printf '%s:%s' "$STAFF_USER" "$PASSWORD" | base64 -w0)"; label="basic auth" ;;
            session) authz="Token $token"; label="DRF token" ;;
        esac
        out="$RUN/wrk-helpdesk-$auth.txt"
        say "django-helpdesk ($label): wrk ${WRK_ARGS[*]} $url"
        run_wrk helpdesk "$url" "$out" PEER_QUEUE="$queue" PEER_AUTHZ="$authz"
        add_row "django-helpdesk, $label" "$version" \
            "gunicorn $WORKERS sync workers, SQLite (WAL), REST API, mail to dummy backend" "$out" "-"
        stop_all_groups
    done
}

# ---------------------------------------------------------------------------------------------
# Request Tracker 5
# ---------------------------------------------------------------------------------------------
rt_perl() { perl -I"$RT_LIB" -MRT -e "RT::LoadConfig(); RT::Init(); $1" 2>&1 | grep -v '^\[.*\[warning\]' || true; }

leg_rt() {
    port_free "$RT_PORT" || die "port $RT_PORT is taken"
    local want out
    want="$(cat <<EOF
# Written by Komek's scripts/peers.sh (make bench-peers): rt-server on 127.0.0.1:$RT_PORT.
Set(\$WebPath, "");
Set(\$WebDomain, "127.0.0.1");
Set(\$WebPort, $RT_PORT);
Set(\$WebBaseURL, "http://127.0.0.1:$RT_PORT");
Set(\$LogToSTDERR, "error");
Set(\$LogToSyslog, undef);
EOF
)"
    if [[ ! -f "$RT_SITE_CONFIG" || "$(cat "$RT_SITE_CONFIG")" != "$want" ]]; then
        printf '%s\n' "$want" | "${SUDO[@]}" tee "$RT_SITE_CONFIG" >/dev/null
    fi
    # A known root password, and no mail: the notification and autoreply scrips off.
    rt_perl 'my $u = RT::User->new(RT->SystemUser); $u->Load("root"); my ($ok, $m) = $u->SetPassword("'"$PASSWORD"'"); die "$m\n" unless $ok;' >&2
    "${SUDO[@]}" perl -MDBI -e 'my $d = DBI->connect("dbi:SQLite:dbname=$ARGV[0]", "", "", {RaiseError => 1}); $d->do(q{UPDATE Scrips SET Disabled = 1 WHERE Description LIKE "%Notify%" OR Description LIKE "%Autoreply%"});' "$RT_DB"
    local url="http://127.0.0.1:$RT_PORT/REST/2.0/ticket" base="http://127.0.0.1:$RT_PORT"
    local version auth label cookie
    version="$(dpkg-query -W -f='${Version}' request-tracker5) (Debian)"
    for auth in $AUTH_MODES; do
        # A server per mode, as for django-helpdesk.
        start rt "$RT_SERVER" --server Starlet --host 127.0.0.1 --port "$RT_PORT" --max-workers "$WORKERS"
        wait_http "$base/REST/2.0/queues/all" "rt-server" 120 -u "root:$PASSWORD"
        out="$RUN/wrk-rt-$auth.txt"
        case "$auth" in
            basic)
                label="basic auth"
                say "RT ($label): wrk ${WRK_ARGS[*]} $url"
                run_wrk rt "$url" "$out" PEER_AUTHZ="Basic $(printf 'root:%s' "$PASSWORD" | base64 -w0)"
                ;;
            session)
                # The web login's session cookie; REST 2.0 takes it for a POST only with a Referer of
                # RT's own (its CSRF check).
                label="session cookie"
                cookie="$(curl -s -o /dev/null -D - -d user=root -d "pass=$PASSWORD" "$base/NoAuth/Login.html" \
                    | sed -n 's/^[Ss]et-[Cc]ookie: \(RT_SID_[^;]*\).*/\1/p' | head -1)"
                [[ -n "$cookie" ]] || die "RT: no session cookie from the login"
                say "RT ($label): wrk ${WRK_ARGS[*]} $url"
                run_wrk rt "$url" "$out" PEER_COOKIE="$cookie" PEER_REFERER="$base/"
                ;;
        esac
        add_row "Request Tracker, $label" "$version" \
            "rt-server (Starlet) $WORKERS workers, SQLite, REST 2.0, notify/autoreply scrips off" "$out" "-"
        stop_all_groups
    done
}

# ---------------------------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------------------------
HEADER="system|version|server setup|requests sent|successes|errors|successes/s|latency p50 / p99 ms|end to end (Komek)"

markdown_table() {
    local r
    printf '| %s |\n' "${HEADER//|/ | }"
    printf '|%s\n' "$(printf -- '---|%.0s' $(seq 1 9))"
    for r in "${ROWS[@]}"; do printf '| %s |\n' "${r//|/ | }"; done
}

write_docs() {
    local md="$RUN/side-by-side.md" doc="$REPO_ROOT/docs/benchmarks.md"
    {
        echo "<!-- peers:begin (written by scripts/peers.sh) -->"
        echo "Command: \`make bench-peers\` (PEERS_SECS=$SECS): wrk ${WRK_ARGS[*]} -s scripts/peers/ticket.lua, each system alone."
        echo
        echo "Machine: $(nproc) cores, $(free -g | awk '/^Mem:/ { print $2 }') GiB RAM, Linux $(uname -r); run $(date -u '+%Y-%m-%d %H:%M UTC'); load average (1 min) before each system: $LOADS."
        echo
        markdown_table
        echo "<!-- peers:end -->"
    } >"$md"
    if [[ -f "$doc" ]] && grep -q '<!-- peers:begin' "$doc"; then
        awk -v md="$md" '
            /<!-- peers:begin/ { while ((getline l < md) > 0) print l; skip = 1; next }
            /<!-- peers:end/ { skip = 0; next }
            !skip { print }' "$doc" >"$doc.tmp" && mv "$doc.tmp" "$doc"
        say "table written into docs/benchmarks.md"
    else
        say "docs/benchmarks.md has no peers:begin/peers:end marks; table in .run/peers/side-by-side.md"
    fi
}

main() {
    mkdir -p "$RUN/logs"
    command -v curl >/dev/null || "$REPO_ROOT/scripts/deps.sh" ensure >&2
    install_apt
    install_pip
    local leg auth
    for auth in $AUTH_MODES; do
        [[ "$auth" == basic || "$auth" == session ]] || die "unknown mode in PEERS_AUTH: $auth"
    done
    for leg in $ONLY; do
        # Other work on the machine skews every figure: the table says how busy it was.
        LOADS="${LOADS:+$LOADS, }$leg $(cut -d' ' -f1 /proc/loadavg)"
        case "$leg" in
            komek) leg_komek ;;
            helpdesk) leg_helpdesk ;;
            rt) leg_rt ;;
            *) die "unknown system in PEERS_ONLY: $leg" ;;
        esac
    done
    echo
    {
        echo "$HEADER"
        printf '%s\n' "${ROWS[@]}"
    } | column -t -s '|'
    write_docs
}

main "$@"
