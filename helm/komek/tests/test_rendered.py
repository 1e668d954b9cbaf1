#!/usr/bin/env python3
"""Assertions on the rendered chart that schemas cannot make (scripts/chart.sh check runs this).

Argument: the directory scripts/chart.sh check rendered into (<profile>-<kube>.yaml per values
profile, monitoring.yaml with every optional object on). Needs helm on PATH for the schema cases.
"""

import json
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
import unittest
from pathlib import Path

import yaml

CHART = Path(__file__).resolve().parent.parent
ROOT = CHART.parent.parent
HELM = shutil.which("helm") or str(ROOT / ".tools" / "bin" / "helm")
RENDERED = Path(sys.argv.pop(1)) if len(sys.argv) > 1 else ROOT / ".tools" / "rendered"
sys.path.insert(0, str(Path(__file__).parent))
import local_pods  # noqa: E402

SERVICES = {"intake", "workspace", "escalation", "survey"}
SECRETISH = re.compile(r"SECRET|PASSWORD|PASSWD|TOKEN|CREDENTIAL|PRIVATE|_KEY$|AMQP__URL|REDIS__URL", re.I)
SECRET_SETTINGS = {
    "auth": {"jwt_secret", "jwt_previous"},
    "sms": {"password", "inbound_secret"},
    "survey": {"link_secret"},
    "email": {"password"},
    "amqp": {"url"},
    "redis": {"url"},
}
# The metric names COMMON.md's contract lists; the dashboard and the rules may use only these
# (plus Prometheus' own `up`).
METRICS = {
    "komek_build_info", "komek_outbox_entries", "komek_outbox_oldest_age_seconds",
    "komek_relay_published_total", "komek_relay_failures_total", "komek_events_handled_total",
    "komek_events_retried_total", "komek_events_parked_total", "komek_event_handling_seconds",
    "komek_requests", "komek_waiting_requests", "komek_waiting_oldest_age_seconds",
    "komek_deadline_warnings_total", "komek_deadline_breaches_total", "komek_open_escalations",
    "komek_live_sessions", "komek_redis_up", "komek_amqp_up", "komek_parked_messages",
    "http_request_duration_seconds", "up",
}


def load(path):
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def profiles():
    files = sorted(RENDERED.glob("*-1.*.yaml")) + [RENDERED / "monitoring.yaml"]
    assert len(files) >= 4, f"nothing rendered in {RENDERED}"
    return {f.stem: load(f) for f in files}


def pod_specs(docs):
    for d in docs:
        if d["kind"] in ("Deployment", "Job"):
            yield d, d["spec"]["template"]["spec"]


def matches(selector, labels):
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())


def settings_keys():
    settings = tomllib.loads((ROOT / "config" / "default.toml").read_text())
    settings.setdefault("shutdown", {}).update({"drain_delay_secs": 5, "grace_secs": 25})
    return settings


class Rendered(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.profiles = profiles()

    def each(self):
        return self.profiles.items()

    def test_every_container_is_probed_limited_and_locked_down(self):
        for name, docs in self.each():
            for d, spec in pod_specs(docs):
                pod_sc = spec.get("securityContext", {})
                self.assertIs(spec.get("automountServiceAccountToken"), False, d["metadata"]["name"])
                for c in spec["containers"]:
                    where = f"{name}: {d['metadata']['name']}/{c['name']}"
                    if d["kind"] == "Deployment":
                        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                            self.assertIn(probe, c, where)
                        self.assertEqual(c["readinessProbe"]["httpGet"]["path"], "/readyz", where)
                        self.assertEqual(c["livenessProbe"]["httpGet"]["path"], "/healthz", where)
                    limits = c.get("resources", {}).get("limits", {})
                    self.assertTrue({"cpu", "memory"} <= set(limits), f"{where}: limits {limits}")
                    sc = c.get("securityContext", {})
                    self.assertTrue(sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")), where)
                    self.assertTrue(sc.get("readOnlyRootFilesystem"), where)
                    self.assertIs(sc.get("allowPrivilegeEscalation"), False, where)
                    self.assertIn("ALL", sc.get("capabilities", {}).get("drop", []), where)
                    seccomp = sc.get("seccompProfile", pod_sc.get("seccompProfile", {}))
                    self.assertEqual(seccomp.get("type"), "RuntimeDefault", where)
                    tmp = [m for m in c.get("volumeMounts", []) if m["mountPath"] == "/tmp"]
                    self.assertTrue(tmp, f"{where}: /tmp must be a writable emptyDir")

    def test_graceful_shutdown_fits_the_grace_period(self):
        shutdown = settings_keys()["shutdown"]
        needed = shutdown["drain_delay_secs"] + shutdown["grace_secs"]
        for name, docs in self.each():
            for d, spec in pod_specs(docs):
                if d["kind"] == "Deployment":
                    self.assertGreater(spec["terminationGracePeriodSeconds"], needed, d["metadata"]["name"])

    def test_no_secret_is_a_plain_value(self):
        for name, docs in self.each():
            for d, spec in pod_specs(docs):
                volumes = {v["name"]: v for v in spec.get("volumes", [])}
                for c in spec["containers"]:
                    mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
                    for e in c.get("env", []):
                        where = f"{name}: {d['metadata']['name']} env {e['name']}"
                        if e["name"].startswith("KOMEK__") and e["name"].endswith("_FILE"):
                            # A file under /etc/komek/secrets, which is a volume made of Secrets only.
                            self.assertTrue(e["value"].startswith("/etc/komek/secrets/"), where)
                            vol = volumes[mounts["/etc/komek/secrets"]]
                            sources = vol["projected"]["sources"]
                            self.assertTrue(sources and all("secret" in s for s in sources), where)
                        elif SECRETISH.search(e["name"]) and e["name"] != "KOMEK__AUTH__JWT_KEY_ID":
                            self.assertNotIn("value", e, f"{where}: a secret as a plain value")
                for d2 in docs:
                    self.assertNotEqual(d2["kind"], "Secret", f"{name}: the chart must not create Secrets")

    def test_production_takes_every_refused_secret_from_a_secret(self):
        docs = next(v for k, v in self.profiles.items() if k.startswith("production"))
        for d, spec in pod_specs(docs):
            env = {e["name"] for c in spec["containers"] for e in c.get("env", [])}
            for var in ("KOMEK__AUTH__JWT_SECRET_FILE", "KOMEK__SMS__INBOUND_SECRET_FILE",
                        "KOMEK__SMS__PASSWORD_FILE", "KOMEK__SURVEY__LINK_SECRET_FILE",
                        "KOMEK__AMQP__URL_FILE", "KOMEK__REDIS__URL_FILE"):
                self.assertIn(var, env, d["metadata"]["name"])
            self.assertIn({"name": "KOMEK_ENV", "value": "production"}, spec["containers"][0]["env"])

    def test_settings_layer_is_toml_with_known_keys_and_no_secrets(self):
        known = settings_keys()

        def walk(layer, schema, path):
            for k, v in layer.items():
                self.assertIn(k, schema, f"unknown setting {path}{k}")
                if isinstance(v, dict):
                    walk(v, schema[k], f"{path}{k}.")

        for name, docs in self.each():
            cms = [d for d in docs if d["kind"] == "ConfigMap" and "komek.toml" in d.get("data", {})]
            self.assertEqual(len(cms), 1)
            layer = tomllib.loads(cms[0]["data"]["komek.toml"])
            walk(layer, known, "")
            for section, keys in layer.items():
                self.assertIsInstance(keys, dict)
            if name.startswith("local"):
                continue
            for section, secret in SECRET_SETTINGS.items():
                self.assertFalse(secret & set(layer.get(section, {})),
                                 f"{name}: secret settings of [{section}] in the ConfigMap")
            for d, spec in pod_specs(docs):
                port = layer["services"][d["metadata"]["name"].rsplit("-", 1)[-1]] \
                    if d["kind"] == "Deployment" else None
                if port:
                    self.assertEqual(spec["containers"][0]["ports"][0]["containerPort"], port)

    def test_every_deployment_has_a_pdb_and_a_network_policy(self):
        for name, docs in self.each():
            pdbs = [d for d in docs if d["kind"] == "PodDisruptionBudget"]
            nps = [d for d in docs if d["kind"] == "NetworkPolicy"]
            deny = [n for n in nps if not n["spec"].get("ingress") and not n["spec"].get("egress")]
            self.assertTrue(deny, f"{name}: no default-deny NetworkPolicy")
            deployments = [d for d in docs if d["kind"] == "Deployment"]
            self.assertEqual({d["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"]
                              for d in deployments}, SERVICES)
            for d in deployments:
                labels = d["spec"]["template"]["metadata"]["labels"]
                self.assertTrue([p for p in pdbs if matches(p["spec"]["selector"], labels)],
                                f"{name}: no PDB selects {d['metadata']['name']}")
                allowing = [n for n in nps if n["spec"].get("egress") and matches(n["spec"]["podSelector"], labels)]
                self.assertTrue(allowing, f"{name}: no NetworkPolicy allows {d['metadata']['name']} anything")
                for p in pdbs:
                    if matches(p["spec"]["selector"], labels):
                        self.assertTrue(matches(p["spec"]["selector"], d["spec"]["selector"]["matchLabels"]))

    def test_ingress_routes_no_operational_endpoint(self):
        for name, docs in self.each():
            for ing in (d for d in docs if d["kind"] == "Ingress"):
                for rule in ing["spec"]["rules"]:
                    for p in rule["http"]["paths"]:
                        self.assertNotIn(p["path"], ("/metrics", "/healthz", "/readyz", "/openapi.json"))
                        if p["path"] == "/":
                            self.assertEqual(p["pathType"], "Exact", f"{name}: / as Prefix routes /metrics")

    def test_alerts_link_to_their_runbook_section_and_use_known_metrics(self):
        docs = self.profiles["monitoring"]
        rules = [r for d in docs if d["kind"] == "PrometheusRule" for g in d["spec"]["groups"] for r in g["rules"]]
        ops = (ROOT / "docs" / "operations.md").read_text()
        anchors = {re.sub(r"[^a-z0-9 -]", "", h.strip().lower()).replace(" ", "-")
                   for h in re.findall(r"^#+ (.+)$", ops, re.M)}
        names = set()
        for r in rules:
            names.add(r["alert"])
            url = r["annotations"]["runbook_url"]
            self.assertIn("docs/operations.md#", url)
            self.assertIn(url.split("#", 1)[1], anchors, f"{r['alert']}: no section in docs/operations.md")
            for metric in re.findall(r"\b([a-z_]+)\s*(?:\{|\)|\[|\s[<>=!]|$)", r["expr"]):
                if metric.startswith("komek_") or metric == "up":
                    self.assertIn(metric, METRICS, r["alert"])
        self.assertTrue({"KomekOutboxLag", "KomekParkedMessages", "KomekDeadlineBreaches", "KomekServiceDown",
                         "KomekServiceAbsent", "KomekRedisDown", "KomekRabbitMQDown"} <= names)

    def test_service_monitors_scrape_every_service(self):
        # kubernetes-validate has no schema for the prometheus-operator's kinds: checked here.
        docs = self.profiles["monitoring"]
        services = [d for d in docs if d["kind"] == "Service" and d["spec"]["ports"][0]["name"] == "http"]
        sms = [d for d in docs if d["kind"] == "ServiceMonitor"]
        self.assertEqual(len(sms), 4)
        for sm in sms:
            self.assertEqual(set(sm["spec"]), {"selector", "endpoints"})
            self.assertEqual([(e["port"], e["path"]) for e in sm["spec"]["endpoints"]], [("http", "/metrics")])
            hit = [s for s in services if matches(sm["spec"]["selector"], s["metadata"]["labels"])]
            self.assertEqual(len(hit), 1, sm["metadata"]["name"])
        for pr in (d for d in docs if d["kind"] == "PrometheusRule"):
            self.assertEqual(set(pr["spec"]), {"groups"})

    def test_dashboard_is_shipped_and_uses_known_metrics(self):
        docs = self.profiles["monitoring"]
        cms = [d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["labels"].get("grafana_dashboard") == "1"]
        self.assertEqual(len(cms), 1)
        dash = json.loads(cms[0]["data"]["komek.json"])
        exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
        self.assertGreater(len(exprs), 10)
        used = {m for e in exprs for m in re.findall(r"\b(komek_[a-z_]+?|http_request_duration_seconds)(?:_bucket|_count|_sum)?\b", e)}
        self.assertTrue(used <= METRICS, used - METRICS)
        self.assertEqual(used, METRICS - {"up"}, f"metrics without a panel: {METRICS - {'up'} - used}")

    def test_local_pods_keeps_only_what_podman_enacts(self):
        docs = next(v for k, v in self.profiles.items() if k.startswith("local"))
        kept, secrets = local_pods.transform(yaml.safe_load_all(yaml.safe_dump_all(docs)))
        self.assertEqual({d["kind"] for d in kept}, {"ConfigMap", "Deployment"})
        self.assertEqual(len([d for d in kept if d["kind"] == "Deployment"]), 4)
        for d in kept:
            if d["kind"] == "Deployment":
                c = d["spec"]["template"]["spec"]["containers"][0]
                self.assertNotIn("ports", c)
                self.assertIn(d["metadata"]["name"], d["spec"]["template"]["spec"]["volumes"][-1]["name"])
                env = {e["name"]: e.get("value") for e in c["env"]}
                self.assertEqual(env["KOMEK_ENV"], "local")
                self.assertEqual(c["imagePullPolicy"], "Never")
                self.assertTrue(c["image"].startswith("localhost/komek-") and c["image"].endswith(":local"))


class TomlLayer(unittest.TestCase):
    def test_the_whole_default_settings_round_trip_through_the_configmap(self):
        # The chart writes its own TOML (Helm's toToml turns 8081 into 8081.0): every type of
        # config/default.toml must come back unchanged.
        settings = settings_keys()
        with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
            yaml.safe_dump({"config": {k: v for k, v in settings.items() if k != "services"}}, f)
            f.flush()
            out = subprocess.run([HELM, "template", "komek", str(CHART), "-f", f.name,
                                  "--show-only", "templates/configmap.yaml"],
                                 capture_output=True, text=True, check=True).stdout
        layer = tomllib.loads(yaml.safe_load(out)["data"]["komek.toml"])
        self.assertEqual(layer, settings)
        self.assertIsInstance(layer["services"]["intake"], int)


class Schema(unittest.TestCase):
    """values.schema.json refuses what is not a value of this chart."""

    def lint(self, values):
        with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
            f.write(values)
            f.flush()
            return subprocess.run([HELM, "lint", "--strict", "--quiet", str(CHART), "-f", f.name],
                                  capture_output=True, text=True)

    def test_unknown_keys_are_refused(self):
        for bad in ("replicaCount: 3\n", "services:\n  intake:\n    replicaz: 3\n",
                    "config:\n  redis:\n    urll: redis://x\n", "config:\n  nosuchsection: {a: 1}\n",
                    "secrets:\n  jwtSecret:\n    value: plain\n", "services:\n  billing:\n    port: 1\n",
                    "services:\n  survey:\n    extraEnv: [{name: KOMEK__AUTH__JWT_SECRET, value: x}]\n",
                    "defaults:\n  securityContext:\n    readOnlyRootFilesystem: false\n"):
            with self.subTest(values=bad):
                r = self.lint(bad)
                self.assertNotEqual(r.returncode, 0, f"accepted:\n{bad}")
                self.assertRegex(r.stdout + r.stderr, "not allowed|must be true|.not. failed")

    def test_every_setting_and_shutdown_is_accepted(self):
        r = self.lint("config:\n  shutdown: {drain_delay_secs: 5, grace_secs: 25}\n"
                      "  deadlines:\n    overrides:\n      - {category: billing, first_response_minutes: 10}\n"
                      "  spikes: {factor: 2.5}\n")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=1)
