"""Both charts, offline: helm lint and template through helm-python-sdk (Helm's Go SDK, no
helm binary), every rendered manifest strictly validated against the Kubernetes 1.33
schemas with kubernetes-validate, values.schema.json refusing bad values clearly, and the
demo's SparkApplication (as the engine builds it) valid against the v1beta2 schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from helm_python.chart import Chart, lint

from tests.helm.charts import CASES, CUSTOM_KINDS, REGISTRY, ROOT, VALUE_SETS, render

K8S_VERSION = "1.33.0"
SCHEMAS = Path(__file__).parent / "schemas"


@pytest.mark.parametrize(("chart", "value_set"), CASES)
def test_lint_passes(chart, value_set):
    result = lint(str(ROOT / chart), VALUE_SETS[chart][value_set], strict=False)
    assert result["errors"] == []
    problems = [m for m in result["messages"] if m["severity"] >= 2]
    # The one expected warning: the Spark Operator chart is a pinned dependency that an
    # air-gapped site vendors; it is not in the repository.
    assert all("missing these dependencies: spark-operator" in m["error"] for m in problems)


@pytest.mark.parametrize(("chart", "value_set"), CASES)
def test_every_manifest_validates_strictly(chart, value_set):
    import jsonschema
    import kubernetes_validate

    docs = render(chart, VALUE_SETS[chart][value_set])
    assert len(docs) >= 6
    for doc in docs:
        if doc["kind"] in CUSTOM_KINDS:  # a CRD's kind: its own schema, kept in the tests
            schema = json.loads((SCHEMAS / f"{CUSTOM_KINDS[doc['kind']]}.json").read_text())
            jsonschema.validate(doc, schema)
        else:
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def images(docs: list[dict]) -> list[str]:
    found = []
    for doc in docs:
        pod = doc.get("spec", {}).get("template", {}).get("spec", {})
        for c in pod.get("containers", []) + pod.get("initContainers", []):
            found.append(c["image"])
    return found


def test_airgapped_values_use_the_mirror_and_existing_secrets():
    docs = render("dataplane", VALUE_SETS["dataplane"]["airgapped"])
    assert images(docs) and all(i.startswith(REGISTRY + "/") for i in images(docs))
    secrets = {d["metadata"]["name"] for d in docs if d["kind"] == "Secret"}
    assert secrets == set()  # every credential comes from the site's own Secrets
    refs = {ref["secretKeyRef"]["name"] for d in docs for ref in _env_refs(d)}
    assert {
        "site-minio",
        "site-minio-trino",
        "site-minio-polaris",
        "site-polaris",
        "site-polaris-db",
    } <= refs
    assert not any(d["kind"] == "Namespace" for d in docs)
    engine = render("sadeem", VALUE_SETS["sadeem"]["external-db"])
    assert all(i.startswith(REGISTRY + "/") for i in images(engine))
    roles = [d for d in engine if d["kind"] == "Role"]
    assert {r["metadata"]["namespace"] for r in roles} == {"etl-jobs", "ml-jobs"}


def _env_refs(doc: dict) -> list[dict]:
    pod = doc.get("spec", {}).get("template", {}).get("spec", {})
    out = []
    for c in pod.get("containers", []) + pod.get("initContainers", []):
        out += [
            e["valueFrom"] for e in c.get("env", []) if "secretKeyRef" in e.get("valueFrom", {})
        ]
    return out


def test_trino_resource_groups_separate_interactive_and_batch():
    docs = render("dataplane", {})
    config = next(
        d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "lake-trino"
    )
    groups = json.loads(config["data"]["resource-groups.json"])
    by_tag = {tuple(s.get("clientTags", [])): s["group"] for s in groups["selectors"]}
    assert by_tag[("interactive",)] == "interactive" and by_tag[("batch",)] == "batch"
    catalog = config["data"]["iceberg.properties"]
    assert "iceberg.catalog.type=rest" in catalog and "${ENV:S3_SECRET_KEY}" in catalog


def test_engine_rbac_allows_exactly_what_the_runner_needs():
    docs = render("sadeem", {})
    role = next(d for d in docs if d["kind"] == "Role")
    rules = {(tuple(r["apiGroups"]), tuple(r["resources"])): set(r["verbs"]) for r in role["rules"]}
    assert {"create", "watch", "delete"} <= rules[
        (("sparkoperator.k8s.io",), ("sparkapplications",))
    ]
    assert rules[(("",), ("pods/log",))] == {"get"}
    deploy = next(d for d in docs if d["kind"] == "Deployment")
    assert deploy["spec"]["template"]["spec"]["serviceAccountName"] == "lake-sadeem"


@pytest.mark.parametrize(
    ("chart", "values", "message"),
    [
        ("dataplane", {"trino": {"workers": "three"}}, "/trino/workers"),
        ("dataplane", {"minio": {"buckets": []}}, "/minio/buckets"),
        (
            "dataplane",
            {"trino": {"resourceGroups": {"batch": {"softMemoryLimit": "lots"}}}},
            "softMemoryLimit",
        ),
        ("sadeem", {"database": {"bundled": {"enabled": False}}}, "/database/external/host"),
        ("sadeem", {"engine": {"jobNamespaces": "etl"}}, "/engine/jobNamespaces"),
        ("sadeem", {"api": {"port": "http"}}, "/api/port"),
        ("sadeem", {"podSecurityContext": {"runAsUser": 0}}, "/podSecurityContext/runAsUser"),
        ("dataplane", {"trino": {"podSecurityContext": {"runAsUser": 0}}}, "runAsUser"),
        (
            "sadeem",
            {"networkPolicy": {"egress": {"trino": {"to": [], "ports": []}}}},
            "/networkPolicy/egress/trino",
        ),
    ],
)
def test_bad_values_fail_with_a_clear_message(chart, values, message):
    from helm_python import HelmValuesError

    with pytest.raises(HelmValuesError) as info:
        Chart.load(ROOT / chart).render(values, name="lake", namespace="lakehouse")
    assert message in str(info.value)


def test_demo_spark_application_validates():
    from engine.backends.spark_operator import build_spark_application, spec_from_job
    from tests.schemas.loader import validate

    job = yaml.safe_load((ROOT.parent / "demo" / "k8s" / "bronze_job.yaml").read_text())
    spec = spec_from_job("demo-bronze-ingest-1", job["definition"])
    validate(build_spark_application(spec, "lakehouse-jobs"), "sparkapplication_v1beta2")


def test_no_upstream_chart_is_vendored():
    assert not (ROOT / "dataplane" / "charts").exists()
    chart = yaml.safe_load((ROOT / "dataplane" / "Chart.yaml").read_text())
    dep = chart["dependencies"][0]
    assert dep["name"] == "spark-operator" and dep["version"].count(".") == 2
