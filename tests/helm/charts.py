"""The charts' value sets and an offline renderer shared by the chart tests."""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2] / "helm"
REGISTRY = "registry.lake.local:5000"

VALUE_SETS: dict[str, dict[str, dict[str, Any]]] = {
    "dataplane": {
        "defaults": {},
        "dev": yaml.safe_load((ROOT / "dataplane" / "values-dev.yaml").read_text()),
        "airgapped": {
            "global": {
                "imageRegistry": REGISTRY,
                "imagePullSecrets": ["mirror-pull"],
                "storageClass": "local-path",
            },
            "minio": {
                "existingSecret": "site-minio",
                "users": {
                    "trino": {"name": "trino", "existingSecret": "site-minio-trino"},
                    "catalog": {"name": "polaris", "existingSecret": "site-minio-polaris"},
                },
            },
            "catalog": {
                "existingSecret": "site-polaris",
                "postgres": {"existingSecret": "site-polaris-db"},
            },
            "spark": {"jobNamespace": {"name": "etl-jobs", "create": False}},
            "spark-operator": {"enabled": False},
        },
    },
    "sadeem": {
        "defaults": {},
        "external-db": {
            "database": {
                "bundled": {"enabled": False},
                "external": {"host": "pg.lake.local", "port": 6432, "existingSecret": "sadeem-db"},
            },
            "secretKey": {"existingSecret": "sadeem-key", "key": "fernet"},
            "global": {"imageRegistry": REGISTRY, "imagePullSecrets": ["mirror-pull"]},
            "replicaCount": 2,
            "engine": {"jobNamespaces": ["etl-jobs", "ml-jobs"]},
        },
        # The API on another port, scraped by a Prometheus Operator, called from one namespace.
        "monitored": {
            "api": {"port": 9090},
            "serviceMonitor": {"enabled": True, "labels": {"release": "prometheus"}},
            "networkPolicy": {
                "enabled": True,
                "ingressFrom": [
                    {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ops"}}}
                ],
            },
        },
    },
}
CASES = [(chart, name) for chart, sets in VALUE_SETS.items() for name in sets]

# Kinds that are custom resources: validated against tests/helm/schemas, not Kubernetes'.
CUSTOM_KINDS = {"ServiceMonitor": "servicemonitor_v1"}


@functools.cache
def _render(chart: str, values_json: str) -> tuple[dict, ...]:
    from helm_python.chart import Chart

    out = Chart.load(ROOT / chart).render(
        json.loads(values_json), name="lake", namespace="lakehouse"
    )
    docs: list[dict] = []
    for path, text in sorted(out.items()):
        if path.endswith(".yaml"):
            docs += [d for d in yaml.safe_load_all(text) if d]
    return tuple(docs)


def render(chart: str, values: dict) -> list[dict]:
    """Every manifest the chart renders with these values (a fresh copy each call)."""
    return copy.deepcopy(list(_render(chart, json.dumps(values, sort_keys=True))))


def render_set(chart: str, value_set: str) -> list[dict]:
    return render(chart, VALUE_SETS[chart][value_set])


WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet"}


def pod_templates(docs: list[dict]) -> list[tuple[dict, dict]]:
    """(manifest, pod template) for every workload; CronJobs through their job template."""
    out = []
    for doc in docs:
        if doc["kind"] in WORKLOADS:
            out.append((doc, doc["spec"]["template"]))
        elif doc["kind"] == "CronJob":
            out.append((doc, doc["spec"]["jobTemplate"]["spec"]["template"]))
        elif doc["kind"] == "Pod":
            out.append((doc, doc))
    return out


def containers(pod_spec: dict) -> list[dict]:
    return (
        pod_spec.get("initContainers", [])
        + pod_spec.get("containers", [])
        + pod_spec.get("ephemeralContainers", [])
    )


def is_hook(doc: dict) -> bool:
    return "helm.sh/hook" in doc.get("metadata", {}).get("annotations", {})


def hooks(doc: dict) -> set[str]:
    return set(doc["metadata"]["annotations"]["helm.sh/hook"].split(","))


def matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    """A matchLabels selector (or a Service's selector) selects these labels."""
    return bool(selector) and selector.items() <= labels.items()
