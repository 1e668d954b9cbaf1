#!/usr/bin/env python3
"""Writes helm/komek/values.schema.json (JSON Schema draft-07) from this file and config/default.toml.

Every object refuses unknown keys (additionalProperties: false), so a misspelt value fails
`helm lint` / `helm install` instead of being ignored. The `config:` part (Komek's settings as a
TOML layer) is derived from config/default.toml: every settings key is allowed, with its type,
and nothing else. `--check` exits 1 when the committed file differs (scripts/chart.sh check).
"""

import json
import sys
import tomllib
from pathlib import Path

CHART = Path(__file__).resolve().parent.parent
ROOT = CHART.parent.parent
OUT = CHART / "values.schema.json"

# Settings sections that config/default.toml gains from other changes merged later; listed here so
# the schema allows them already (the generator is rerun after merging and then reads them there).
EXTRA_SETTINGS = {
    "shutdown": {"drain_delay_secs": 5, "grace_secs": 25},
}


def obj(props, required=(), desc=None):
    s = {"type": "object", "additionalProperties": False, "properties": props}
    if required:
        s["required"] = list(required)
    if desc:
        s["description"] = desc
    return s


def string(desc=None, **kw):
    s = {"type": "string", **kw}
    if desc:
        s["description"] = desc
    return s


INT = {"type": "integer"}
BOOL = {"type": "boolean"}
PORT = {"type": "integer", "minimum": 1, "maximum": 65535}
STRMAP = {"type": "object", "additionalProperties": {"type": "string"}}
QUANTITY = {"anyOf": [{"type": "string"}, {"type": "number"}]}
# Kubernetes objects passed through unchanged (affinity, tolerations): kubernetes-validate --strict
# checks them on the rendered output.
K8S_PASSTHROUGH_OBJ = {"type": "object"}
K8S_PASSTHROUGH_LIST = {"type": "array", "items": {"type": "object"}}


def setting_schema(value):
    if isinstance(value, bool):
        return dict(BOOL)
    if isinstance(value, int):
        return dict(INT)
    if isinstance(value, float):
        return {"type": "number"}
    if isinstance(value, str):
        return {"type": "string"}
    if isinstance(value, list):
        if value and all(isinstance(v, dict) for v in value):
            props = {}
            for item in value:
                for k, v in item.items():
                    props[k] = setting_schema(v)
            return {"type": "array", "items": obj(props)}
        kinds = {json.dumps(setting_schema(v), sort_keys=True) for v in value}
        items = json.loads(kinds.pop()) if len(kinds) == 1 else {}
        return {"type": "array", "items": items}
    if isinstance(value, dict):
        return obj({k: setting_schema(v) for k, v in value.items()})
    raise TypeError(f"unsupported settings value {value!r}")


def config_schema():
    settings = tomllib.loads((ROOT / "config" / "default.toml").read_text())
    for section, keys in EXTRA_SETTINGS.items():
        settings.setdefault(section, {})
        for k, v in keys.items():
            settings[section].setdefault(k, v)
    s = setting_schema(settings)
    # [services] ports come from services.<name>.port; the chart writes them itself.
    s["properties"].pop("services", None)
    s["description"] = (
        "Komek settings as a TOML layer (ConfigMap, KOMEK_CONFIG_FILE): the keys of config/default.toml. "
        "Secrets do not belong here: see `secrets`."
    )
    return s


def selector():
    return obj({
        "matchLabels": STRMAP,
        "matchExpressions": {"type": "array", "items": obj({
            "key": string(), "operator": string(enum=["In", "NotIn", "Exists", "DoesNotExist"]),
            "values": {"type": "array", "items": string()},
        }, required=["key", "operator"])},
    })


PEER = obj({
    "ipBlock": obj({"cidr": string(), "except": {"type": "array", "items": string()}}, required=["cidr"]),
    "namespaceSelector": selector(),
    "podSelector": selector(),
})
PEERS = {"type": "array", "items": PEER}

RESOURCES = obj({
    "requests": obj({"cpu": QUANTITY, "memory": QUANTITY, "ephemeral-storage": QUANTITY}),
    "limits": obj({"cpu": QUANTITY, "memory": QUANTITY, "ephemeral-storage": QUANTITY}),
})

SECCOMP = obj({"type": string(enum=["RuntimeDefault", "Localhost"]), "localhostProfile": string()})

POD_SECURITY = obj({
    "runAsNonRoot": BOOL, "runAsUser": INT, "runAsGroup": INT, "fsGroup": INT,
    "fsGroupChangePolicy": string(), "supplementalGroups": {"type": "array", "items": INT},
    "seccompProfile": SECCOMP,
})

CONTAINER_SECURITY = obj({
    "runAsNonRoot": {"const": True}, "runAsUser": INT, "runAsGroup": INT,
    "readOnlyRootFilesystem": {"const": True}, "allowPrivilegeEscalation": {"const": False},
    "privileged": {"const": False},
    "capabilities": obj({"drop": {"type": "array", "items": string(), "contains": {"const": "ALL"}},
                         "add": {"type": "array", "items": string()}}),
    "seccompProfile": SECCOMP,
})

PROBE = obj({"periodSeconds": INT, "failureThreshold": INT, "timeoutSeconds": INT,
             "initialDelaySeconds": INT, "successThreshold": INT})

AUTOSCALING = obj({"enabled": BOOL, "minReplicas": INT, "maxReplicas": INT,
                   "targetCPUUtilizationPercentage": INT})

PDB = {
    "type": "object", "additionalProperties": False,
    "properties": {"maxUnavailable": {"anyOf": [INT, string()]}, "minAvailable": {"anyOf": [INT, string()]}},
    "maxProperties": 1,
}

SECRET_NAME_RE = r"^[A-Z0-9_]+$"
EXTRA_ENV = {
    "type": "array",
    "description": "Extra non-secret variables; a Komek secret goes through `secrets` instead.",
    "items": obj({
        "name": {"type": "string", "pattern": SECRET_NAME_RE,
                 "not": {"pattern": "SECRET|PASSWORD|TOKEN|AMQP__URL|REDIS__URL"}},
        "value": string(),
    }, required=["name", "value"]),
}

# What `defaults` holds and each service may override.
POD_PROPS = {
    "replicas": {"type": "integer", "minimum": 0},
    "resources": RESOURCES,
    "podSecurityContext": POD_SECURITY,
    "securityContext": CONTAINER_SECURITY,
    "terminationGracePeriodSeconds": INT,
    "probes": obj({"startup": PROBE, "readiness": PROBE, "liveness": PROBE}),
    "topologySpread": obj({"enabled": BOOL,
                           "whenUnsatisfiable": string(enum=["ScheduleAnyway", "DoNotSchedule"])}),
    "nodeSelector": STRMAP,
    "tolerations": K8S_PASSTHROUGH_LIST,
    "affinity": K8S_PASSTHROUGH_OBJ,
    "podAnnotations": STRMAP,
    "podLabels": STRMAP,
    "tmpSizeLimit": QUANTITY,
    "autoscaling": AUTOSCALING,
    "pdb": PDB,
    "extraEnv": EXTRA_ENV,
}


def service(extra=None):
    props = {"enabled": BOOL, "port": PORT,
             "imageTag": string("This service's image tag; empty: image.tag (staged upgrades)."),
             **POD_PROPS}
    props.update(extra or {})
    return obj(props)


SMTP = obj({
    "enabled": BOOL, "port": PORT,
    "service": obj({
        "type": string(enum=["LoadBalancer", "NodePort", "ClusterIP"]),
        "port": PORT,
        "nodePort": {"anyOf": [{"type": "null"}, {"type": "integer", "minimum": 30000, "maximum": 32767}]},
        "loadBalancerSourceRanges": {"type": "array", "items": string()},
        "annotations": STRMAP,
        "externalTrafficPolicy": string(enum=["Local", "Cluster"]),
    }),
})

SECRET_REF = obj({
    "existingSecret": string("Name of an existing Secret; empty: not set by the chart.",
                             pattern=r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?)?$"),
    "key": string("Key inside the Secret.", minLength=1),
}, required=["existingSecret", "key"])

SECRETS = ["jwtSecret", "jwtPrevious", "smsInboundSecret", "smsPassword", "surveyLinkSecret", "emailPassword",
           "amqpUrl", "redisUrl"]

HOST = obj({"host": string(), "tlsSecretName": string()})

EGRESS = obj({"ports": {"type": "array", "items": PORT}, "to": PEERS})


def schema():
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "Komek Helm chart values",
        "description": "Generated by helm/komek/tests/gen_schema.py; do not edit by hand.",
        **obj({
            "nameOverride": string(),
            "fullnameOverride": string(),
            "komekEnv": string("KOMEK_ENV", enum=["production", "local", "test"]),
            "image": obj({"repositoryPrefix": string(minLength=1), "tag": string(),
                          "pullPolicy": string(enum=["Always", "IfNotPresent", "Never"])}),
            "imagePullSecrets": {"type": "array", "items": obj({"name": string()}, required=["name"])},
            "config": config_schema(),
            "secrets": obj({k: SECRET_REF for k in SECRETS}),
            "jwtKeyId": string(minLength=1),
            "defaults": obj(POD_PROPS),
            "services": obj({
                "intake": service({"smtp": SMTP}),
                "workspace": service(),
                "escalation": service(),
                "survey": service(),
            }),
            "serviceAccount": obj({"annotations": STRMAP}),
            "ingress": obj({
                "enabled": BOOL, "className": string(), "annotations": STRMAP, "smsInbound": BOOL,
                "hosts": obj({"public": HOST, "staff": HOST, "departments": HOST}),
            }),
            "networkPolicy": obj({
                "enabled": BOOL,
                "ingress": obj({"controller": PEERS, "prometheus": PEERS, "kannel": PEERS, "smtp": PEERS}),
                "egress": obj({k: EGRESS for k in
                               ["redis", "rabbitmq", "kannel", "smtpRelay", "otlp", "billing"]}),
            }),
            "monitoring": obj({
                "serviceMonitor": obj({"enabled": BOOL, "interval": string(), "labels": STRMAP}),
                "prometheusRule": obj({"enabled": BOOL, "labels": STRMAP, "runbookBaseUrl": string(),
                                       "outboxLagSeconds": INT, "waitingOldestSeconds": INT}),
                "dashboard": obj({"enabled": BOOL, "labels": STRMAP}),
            }),
            "adminJob": obj({
                "enabled": BOOL,
                "service": string(enum=["intake", "workspace", "escalation", "survey"]),
                "args": {"type": "array", "items": string(), "minItems": 1},
                "passwordSecret": string(),
            }),
        }),
    }


def main():
    text = json.dumps(schema(), indent=2) + "\n"
    if "--check" in sys.argv[1:]:
        if not OUT.exists() or OUT.read_text() != text:
            sys.exit(f"{OUT.relative_to(ROOT)} is out of date: run python3 {Path(__file__).relative_to(ROOT)}")
        return
    OUT.write_text(text)
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
