#!/usr/bin/env python3
"""Turns the chart rendered with values-local.yaml into DIR/pods.yaml for
`podman kube play --network host DIR/pods.yaml` (scripts/chart.sh local-pods DIR).

podman enacts Deployments (as pods), ConfigMaps and emptyDir volumes; the rest is dropped:
- Service, Ingress, HPA, PDB, NetworkPolicy, ServiceMonitor, PrometheusRule, ServiceAccount, Job:
  nothing in podman enacts them (the chart checks cover them by schema and test_rendered.py).
- containers' `ports:`: host networking refuses port mappings, and every service binds its own
  port from the settings anyway.
- probes: podman runs an httpGet probe as `curl` inside the container, and the images carry no
  shell and no curl; `make chart-up` waits for every service's /readyz from the host instead.
- emptyDir volumes are renamed <deployment>-<volume>: podman makes each a named volume, which
  would otherwise be shared by every pod. A ConfigMap volume becomes a podman volume named after
  the ConfigMap (komek-config), which `podman kube down` leaves behind: remove it with
  `podman volume rm komek-config` so the next play sees the current settings.
- Secrets: podman 4.3 cannot use Secret objects from the same file; values-local.yaml uses none
  (local settings are demo values). Should one appear, it is written to DIR/secrets/NAME.yaml for
  `podman secret create NAME DIR/secrets/NAME.yaml` (podman kube play then finds it by name).
"""

import sys
from pathlib import Path

import yaml

KEEP = {"ConfigMap", "Deployment"}


def transform(docs):
    """Returns (objects for pods.yaml, {secret name: Secret object})."""
    kept, secrets = [], {}
    for d in docs:
        if not d:
            continue
        kind = d.get("kind")
        if kind == "Secret":
            secrets[d["metadata"]["name"]] = d
            continue
        if kind not in KEEP:
            continue
        if kind == "Deployment":
            spec = d["spec"]["template"]["spec"]
            # podman makes an emptyDir a named volume: "tmp" would be one volume shared by all pods.
            renamed = {}
            for v in spec.get("volumes", []):
                if "emptyDir" in v:
                    renamed[v["name"]] = v["name"] = f"{d['metadata']['name']}-{v['name']}"
            for c in spec.get("containers", []) + spec.get("initContainers", []):
                c.pop("ports", None)
                for m in c.get("volumeMounts", []):
                    m["name"] = renamed.get(m["name"], m["name"])
                for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                    c.pop(probe, None)
            # Unknown to podman, and meaningless on one machine.
            for key in ("topologySpreadConstraints", "serviceAccountName", "automountServiceAccountToken"):
                spec.pop(key, None)
        kept.append(d)
    return kept, secrets


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    kept, secrets = transform(yaml.safe_load_all(sys.stdin))
    deployments = [d["metadata"]["name"] for d in kept if d["kind"] == "Deployment"]
    if not deployments:
        sys.exit("local-pods: no Deployment rendered")
    # ConfigMaps first: podman resolves configMap volumes from objects seen before the pod.
    kept.sort(key=lambda d: d["kind"] != "ConfigMap")
    (out / "pods.yaml").write_text(yaml.safe_dump_all(kept, sort_keys=False))
    if secrets:
        (out / "secrets").mkdir(exist_ok=True)
        for name, s in secrets.items():
            (out / "secrets" / f"{name}.yaml").write_text(yaml.safe_dump(s, sort_keys=False))
    print(f"{out / 'pods.yaml'}: {', '.join(deployments)}"
          + (f"; secrets for podman secret create: {', '.join(secrets)}" if secrets else ""))


if __name__ == "__main__":
    main()
