#!/usr/bin/env bash
# The chart as pods on this machine (`make chart-up` / `make chart-down`):
#
#   scripts/pods.sh up     render helm/komek with values-local.yaml into target/pods/pods.yaml
#                          (scripts/chart.sh local-pods), start it with
#                          `podman kube play --network host`, wait until the four services answer
#                          /readyz with 200 on 127.0.0.1:8081-8084, print how long that took.
#                          The images must be there (make chart-up runs make images first).
#   scripts/pods.sh down   `podman kube down` the same file, remove the secrets `up` created and
#                          the volumes its ConfigMaps became.
#   scripts/pods.sh wait   only the readiness wait.
#
# KOMEK_PODS_YAML=FILE plays FILE instead of rendering the chart. KOMEK_PODS_READY_S (default 180)
# is the readiness deadline. The pods use the machine's Redis and RabbitMQ (values-local.yaml).
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$REPO_ROOT/target/pods"
YAML="${KOMEK_PODS_YAML:-$OUT/pods.yaml}"
READY_S="${KOMEK_PODS_READY_S:-180}"
PORTS=(8081 8082 8083 8084)

say() { printf 'pods: %s\n' "$*"; }
die() { printf 'pods: error: %s\n' "$*" >&2; exit 1; }

eval "$("$REPO_ROOT/scripts/images.sh" env)"

render() {
    if [[ -n "${KOMEK_PODS_YAML:-}" ]]; then
        say "playing $YAML (KOMEK_PODS_YAML)"
        return
    fi
    [[ -x "$REPO_ROOT/scripts/chart.sh" ]] \
        || die "no scripts/chart.sh (the chart); KOMEK_PODS_YAML=FILE plays a pods file instead"
    [[ -x "$REPO_ROOT/.tools/bin/helm" ]] || "$REPO_ROOT/scripts/chart.sh" tools
    mkdir -p "$OUT"
    "$REPO_ROOT/scripts/chart.sh" local-pods "$OUT"
    [[ -s "$YAML" ]] || die "scripts/chart.sh local-pods wrote no $YAML"
}

# Polls every service's /readyz until all answer 200, within READY_S seconds.
wait_ready() {
    local start=$SECONDS deadline=$((SECONDS + READY_S)) port code pending
    while :; do
        pending=()
        for port in "${PORTS[@]}"; do
            code="$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$port/readyz" || true)"
            [[ "$code" == 200 ]] || pending+=("$port:$code")
        done
        if [[ ${#pending[@]} -eq 0 ]]; then
            say "all four services ready in $((SECONDS - start)) s"
            return
        fi
        if ((SECONDS >= deadline)); then
            podman pod ps >&2
            die "not ready after ${READY_S} s (port:status ${pending[*]}); logs: podman logs <container>"
        fi
        sleep 1
    done
}

up() {
    local start=$SECONDS port
    for port in "${PORTS[@]}"; do
        if curl -s -o /dev/null -m 1 "http://127.0.0.1:$port/healthz"; then
            die "port $port already answers (make run, or pods still up: make chart-down)"
        fi
    done
    render
    create_secrets
    say "podman kube play --network host ${YAML#"$REPO_ROOT"/}"
    podman kube play --network host "$YAML" >"$OUT/play.log" 2>&1 \
        || { cat "$OUT/play.log" >&2; die "podman kube play failed"; }
    wait_ready
    podman pod ps --format 'table {{.Name}} {{.Status}} {{.NumberOfContainers}}'
    say "up in $((SECONDS - start)) s (rendering and start; images built before)"
}

# Names of the objects of kind $1 in the pods file (python3's yaml: Debian's python3-yaml).
names_of() {
    python3 - "$1" "$YAML" <<'PY'
import sys, yaml
kind, path = sys.argv[1], sys.argv[2]
with open(path) as f:
    for d in yaml.safe_load_all(f):
        if d and d.get("kind") == kind:
            print(d["metadata"]["name"])
PY
}

# Secrets the chart rendered go to target/pods/secrets/NAME.yaml (podman 4.3 cannot take Secret
# objects from the played file); kube play finds them by name. None with values-local.yaml.
create_secrets() {
    local f name
    for f in "$(dirname "$YAML")"/secrets/*.yaml; do
        [[ -e "$f" ]] || continue
        name="$(basename "$f" .yaml)"
        podman secret rm "$name" >/dev/null 2>&1 || true
        podman secret create "$name" "$f" >/dev/null
    done
}

down() {
    [[ -s "$YAML" ]] || { say "no $YAML: nothing to take down"; return; }
    podman kube down "$YAML" >/dev/null 2>&1 || true
    local f name
    for f in "$(dirname "$YAML")"/secrets/*.yaml; do
        [[ -e "$f" ]] || continue
        podman secret rm "$(basename "$f" .yaml)" >/dev/null 2>&1 || true
    done
    # kube down leaves the volume a ConfigMap became (named after it): removed, so the next
    # chart-up plays the settings rendered then.
    for name in $(names_of ConfigMap); do
        podman volume rm -f "$name" >/dev/null 2>&1 || true
    done
    say "down"
}

mkdir -p "$OUT"
case "${1:-}" in
    up) up ;;
    down) down ;;
    wait) wait_ready ;;
    *) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
