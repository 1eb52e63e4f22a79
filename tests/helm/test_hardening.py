"""The charts' hardening, computed from the rendered manifests (issue 16, item 6).

Expectations come from the issue and from Kubernetes' own rules (Pod Security "restricted",
Service and NetworkPolicy semantics), never from the charts' values: the engine is probed
over HTTP on /healthz and /readyz, reached through a Service and only on its API port,
migrated once by a hook Job; no Service routes to a hook's pod; every container passes
"restricted" with a read-only root filesystem; Trino and the catalog hold MinIO users of
their own, not the root credentials."""

from __future__ import annotations

import base64
import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.helm import pod_security
from tests.helm.charts import (
    CASES,
    VALUE_SETS,
    containers,
    hooks,
    is_hook,
    matches,
    pod_templates,
    render_set,
)

ENGINE_SETS = list(VALUE_SETS["sadeem"])
DATAPLANE_SETS = list(VALUE_SETS["dataplane"])
# The issue: the API on 0.0.0.0:8080 unless the port value says otherwise.
API_PORT = {"defaults": 8080, "external-db": 8080, "monitored": 9090}


def engine_pods(docs: list[dict]) -> list[dict]:
    return [
        t
        for d, t in pod_templates(docs)
        if d["kind"] == "Deployment" and any(c["name"] == "engine" for c in t["spec"]["containers"])
    ]


def engine_pod(docs: list[dict]) -> dict:
    (pod,) = engine_pods(docs)
    return pod


def engine_container(docs: list[dict]) -> dict:
    return next(c for c in engine_pod(docs)["spec"]["containers"] if c["name"] == "engine")


def resolve_port(container: dict, port: int | str) -> int:
    """A probe's or Service's target port: a number, or the name of a container port."""
    if isinstance(port, int):
        return port
    return next(p["containerPort"] for p in container["ports"] if p.get("name") == port)


def secret_ref(container: dict, env_name: str) -> tuple[str, str]:
    env = next(e for e in container["env"] if e["name"] == env_name)
    ref = env["valueFrom"]["secretKeyRef"]
    return ref["name"], ref["key"]


# --- Pod Security "restricted" and the read-only root filesystem, every chart ---------------


def test_the_checker_refuses_what_restricted_refuses():
    """The checker itself: a default pod (nothing set) and a few classic escapes all fail."""
    bare = {"containers": [{"name": "x", "image": "i"}]}
    found = pod_security.violations(bare)
    assert any("allowPrivilegeEscalation" in v for v in found)
    assert any("runAsNonRoot" in v for v in found)
    assert any("seccompProfile" in v for v in found)
    assert any("capabilities.drop" in v for v in found)
    good_sc = {
        "allowPrivilegeEscalation": False,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    good = {"containers": [{"name": "x", "securityContext": good_sc}]}
    assert pod_security.violations(good) == []
    for broken in (
        {"hostNetwork": True},
        {"volumes": [{"name": "h", "hostPath": {"path": "/"}}]},
        {"securityContext": {"runAsUser": 0}},
        {"securityContext": {"seccompProfile": {"type": "Unconfined"}}},
    ):
        assert pod_security.violations({**good, **broken}), broken
    for sc in ({"privileged": True}, {"capabilities": {"drop": ["ALL"], "add": ["SYS_ADMIN"]}}):
        pod = {"containers": [{"name": "x", "securityContext": {**good_sc, **sc}}]}
        assert pod_security.violations(pod), sc
    # Pod-level non-root does not survive a container that says false.
    pod = {
        "securityContext": {"runAsNonRoot": True},
        "containers": [{"name": "x", "securityContext": {**good_sc, "runAsNonRoot": False}}],
    }
    assert pod_security.violations(pod)


@pytest.mark.parametrize(("chart", "value_set"), CASES)
def test_every_container_passes_pod_security_restricted(chart, value_set):
    pods = pod_templates(render_set(chart, value_set))
    assert pods
    assert any(is_hook(d) for d, _ in pods)  # hook Jobs are pods too, and are checked
    problems = [
        f"{d['kind']}/{d['metadata']['name']}: {v}"
        for d, t in pods
        for v in pod_security.violations(t["spec"])
    ]
    assert problems == []


@pytest.mark.parametrize(("chart", "value_set"), CASES)
def test_every_container_has_a_read_only_root_filesystem(chart, value_set):
    writable = [
        f"{d['metadata']['name']}/{c['name']}"
        for d, t in pod_templates(render_set(chart, value_set))
        for c in containers(t["spec"])
        if (c.get("securityContext") or {}).get("readOnlyRootFilesystem") is not True
    ]
    assert writable == []


@pytest.mark.parametrize("value_set", ENGINE_SETS)
def test_the_engine_writes_only_to_empty_dirs(value_set):
    """Where the engine writes: its data dir (config.toml's data_dir), the socket's directory
    (the issue's default /run/sadeem/engine.sock), /tmp and $HOME - each a writable emptyDir."""
    docs = render_set("sadeem", value_set)
    pod = engine_pod(docs)["spec"]
    container = engine_container(docs)
    config = next(d for d in docs if d["kind"] == "ConfigMap")["data"]["config.toml"]
    data_dir = next(
        line.split("=", 1)[1].strip().strip('"')
        for line in config.splitlines()
        if line.startswith("data_dir")
    )
    home = next(e["value"] for e in container["env"] if e["name"] == "HOME")
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {
        m["mountPath"]: volumes[m["name"]]
        for m in container["volumeMounts"]
        if not m.get("readOnly")
    }
    for path in (data_dir, "/run/sadeem", "/tmp", home):
        assert "emptyDir" in mounts.get(path, {}), path


# --- The engine: HTTP probes, a Service, the API port as a value ----------------------------


@pytest.mark.parametrize("value_set", ENGINE_SETS)
def test_engine_probes_are_http_on_healthz_and_readyz(value_set):
    docs = render_set("sadeem", value_set)
    port = API_PORT[value_set]
    container = engine_container(docs)
    assert container["command"] == ["sadeem", "engine", "serve", "--http", f"0.0.0.0:{port}"]
    live, ready = container["livenessProbe"], container["readinessProbe"]
    assert "exec" not in live and "exec" not in ready
    assert live["httpGet"]["path"] == "/healthz"
    assert ready["httpGet"]["path"] == "/readyz"
    assert resolve_port(container, live["httpGet"]["port"]) == port
    assert resolve_port(container, ready["httpGet"]["port"]) == port
    # No probe anywhere in the chart runs the CLI.
    for _, t in pod_templates(docs):
        for c in containers(t["spec"]):
            for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
                cmd = c.get(probe, {}).get("exec", {}).get("command", [])
                assert cmd[:1] != ["sadeem"], (c["name"], probe)


@pytest.mark.parametrize("value_set", ENGINE_SETS)
def test_the_api_is_exposed_through_a_service(value_set):
    docs = render_set("sadeem", value_set)
    pod_labels = engine_pod(docs)["metadata"]["labels"]
    container = engine_container(docs)
    (service,) = [
        s for s in docs if s["kind"] == "Service" and matches(s["spec"]["selector"], pod_labels)
    ]
    targets = {resolve_port(container, p["targetPort"]) for p in service["spec"]["ports"]}
    assert targets == {API_PORT[value_set]}


@pytest.mark.parametrize("value_set", ENGINE_SETS)
def test_a_disruption_budget_covers_the_engines_and_lets_a_drain_proceed(value_set):
    docs = render_set("sadeem", value_set)
    pod_labels = engine_pod(docs)["metadata"]["labels"]
    (pdb,) = [d for d in docs if d["kind"] == "PodDisruptionBudget"]
    assert matches(pdb["spec"]["selector"]["matchLabels"], pod_labels)
    replicas = next(d for d in docs if d["kind"] == "Deployment")["spec"]["replicas"]
    # A budget that allows no eviction blocks every node drain forever.
    if "minAvailable" in pdb["spec"]:
        assert pdb["spec"]["minAvailable"] < replicas
    else:
        assert pdb["spec"]["maxUnavailable"] >= 1


def test_service_monitor_is_optional_and_scrapes_metrics_on_the_api_port():
    assert not any(d["kind"] == "ServiceMonitor" for d in render_set("sadeem", "defaults"))
    docs = render_set("sadeem", "monitored")
    (monitor,) = [d for d in docs if d["kind"] == "ServiceMonitor"]
    assert monitor["metadata"]["labels"]["release"] == "prometheus"
    container = engine_container(docs)
    services = [
        s
        for s in docs
        if s["kind"] == "Service"
        and matches(monitor["spec"]["selector"]["matchLabels"], s["metadata"]["labels"])
    ]
    assert len(services) == 1
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["path"] == "/metrics"
    port = next(p for p in services[0]["spec"]["ports"] if p["name"] == endpoint["port"])
    assert resolve_port(container, port["targetPort"]) == 9090
    assert monitor["spec"]["namespaceSelector"]["matchNames"] == ["lakehouse"]


# --- No Service (or other selector) matches a hook Job's pods -------------------------------


def selectors(docs: list[dict]) -> list[tuple[str, dict]]:
    """Every label selector that routes to or manages pods, with who owns it."""
    out = []
    for d in docs:
        name = f"{d['kind']}/{d['metadata']['name']}"
        spec = d.get("spec", {})
        if d["kind"] == "Service" and spec.get("selector"):
            out.append((name, spec["selector"]))
        elif d["kind"] in {"Deployment", "StatefulSet", "PodDisruptionBudget"}:
            assert "matchExpressions" not in spec["selector"], name  # checked as labels only
            out.append((name, spec["selector"]["matchLabels"]))
        elif d["kind"] == "NetworkPolicy":
            out.append((name, spec["podSelector"]["matchLabels"]))
    return out


@pytest.mark.parametrize(("chart", "value_set"), CASES)
def test_no_selector_matches_a_hook_jobs_pods(chart, value_set):
    docs = render_set(chart, value_set)
    hook_pods = [
        (d["metadata"]["name"], t["metadata"]["labels"])
        for d, t in pod_templates(docs)
        if d["kind"] == "Job" and is_hook(d)
    ]
    assert hook_pods
    clashes = [
        f"{owner} selects the pods of hook Job {job}"
        for owner, selector in selectors(docs)
        for job, labels in hook_pods
        if matches(selector, labels)
    ]
    assert clashes == []


@pytest.mark.parametrize(("chart", "value_set"), CASES)
def test_every_service_selects_a_workloads_pods(chart, value_set):
    """The other half: distinct hook labels must not leave a Service selecting nothing."""
    docs = render_set(chart, value_set)
    pods = [t["metadata"]["labels"] for d, t in pod_templates(docs) if not is_hook(d)]
    for s in [d for d in docs if d["kind"] == "Service"]:
        assert any(matches(s["spec"]["selector"], labels) for labels in pods), s["metadata"]


# --- Migrations: once, in a hook Job ---------------------------------------------------------


def runs_migrations(container: dict) -> bool:
    words = container.get("command", []) + container.get("args", [])
    text = " ".join(words)
    return "db upgrade" in text or "alembic" in text


@pytest.mark.parametrize("value_set", ENGINE_SETS)
def test_migrations_run_once_in_a_hook_job_before_the_engines(value_set):
    docs = render_set("sadeem", value_set)
    migrating = [
        (d, c) for d, t in pod_templates(docs) for c in containers(t["spec"]) if runs_migrations(c)
    ]
    assert len(migrating) == 1
    job, container = migrating[0]
    assert job["kind"] == "Job" and is_hook(job)
    assert container["command"] == ["sadeem", "db", "upgrade"]
    bundled = VALUE_SETS["sadeem"][value_set].get("database", {}).get("bundled", {})
    # Upgrades migrate before the new engines roll out; an install migrates before the
    # engines start when the database already exists (external), right after creating it
    # when the chart bundles it.
    assert "pre-upgrade" in hooks(job)
    want = "post-install" if bundled.get("enabled", True) else "pre-install"
    assert want in hooks(job)
    for d, t in pod_templates(docs):
        if d["kind"] in {"Deployment", "StatefulSet"}:
            assert not any(runs_migrations(c) for c in containers(t["spec"])), d["metadata"]
            assert t["spec"].get("initContainers", []) == [], d["metadata"]


def test_the_pre_install_migration_needs_nothing_the_release_creates():
    """At pre-install nothing of the release exists yet: the Job may use only the site's own
    Secrets, no ConfigMap or ServiceAccount of the chart."""
    docs = render_set("sadeem", "external-db")
    job = next(d for d in docs if d["kind"] == "Job" and is_hook(d))
    pod = job["spec"]["template"]["spec"]
    created = {(d["kind"], d["metadata"]["name"]) for d in docs if not is_hook(d)}
    refs = [
        ("Secret", e["valueFrom"]["secretKeyRef"]["name"])
        for c in containers(pod)
        for e in c.get("env", [])
        if "secretKeyRef" in e.get("valueFrom", {})
    ]
    refs += [
        ("ConfigMap", v["configMap"]["name"]) for v in pod.get("volumes", []) if "configMap" in v
    ]
    refs += [("Secret", v["secret"]["secretName"]) for v in pod.get("volumes", []) if "secret" in v]
    if "serviceAccountName" in pod:
        refs.append(("ServiceAccount", pod["serviceAccountName"]))
    assert refs and not set(refs) & created
    assert pod.get("automountServiceAccountToken") is False
    # Least privilege: a schema migration reads no secret reference, so it gets no Fernet key.
    env = {e["name"] for c in containers(pod) for e in c.get("env", [])}
    assert "SADEEM_SECRET_KEY" not in env


# --- NetworkPolicy: in on the API port only, out only where the engine must go ---------------


def engine_policy(docs: list[dict]) -> dict:
    pod_labels = engine_pod(docs)["metadata"]["labels"]
    (policy,) = [
        d
        for d in docs
        if d["kind"] == "NetworkPolicy"
        and matches(d["spec"]["podSelector"]["matchLabels"], pod_labels)
    ]
    return policy


@pytest.mark.parametrize("value_set", ENGINE_SETS)
def test_network_policy_admits_only_the_api_port(value_set):
    docs = render_set("sadeem", value_set)
    spec = engine_policy(docs)["spec"]
    assert {"Ingress", "Egress"} <= set(spec["policyTypes"])
    assert spec["ingress"]
    # A rule without ports admits every port: each rule must name them, and only the API's.
    for rule in spec["ingress"]:
        assert rule.get("ports"), rule
        assert {(p["port"], p.get("protocol", "TCP")) for p in rule["ports"]} == {
            (API_PORT[value_set], "TCP")
        }
    if value_set == "monitored":
        assert (
            spec["ingress"][0]["from"]
            == VALUE_SETS["sadeem"]["monitored"]["networkPolicy"]["ingressFrom"]
        )


@pytest.mark.parametrize("value_set", ENGINE_SETS)
def test_network_policy_egress_is_only_dns_db_s3_catalog_trino_and_the_api_server(value_set):
    docs = render_set("sadeem", value_set)
    rules = engine_policy(docs)["spec"]["egress"]
    for rule in rules:  # a rule without `to` or without `ports` opens everything on that axis
        assert rule.get("to") and rule.get("ports"), rule
    ports = {(p["port"], p.get("protocol", "TCP")) for r in rules for p in r["ports"]}
    # The bundled PostgreSQL's port, or database.external.port.
    db_port = (
        VALUE_SETS["sadeem"][value_set].get("database", {}).get("external", {}).get("port", 5432)
    )
    assert ports == {
        (53, "UDP"),
        (53, "TCP"),  # DNS
        (db_port, "TCP"),  # the metadata database
        (9000, "TCP"),  # S3 (MinIO)
        (8181, "TCP"),  # the Iceberg REST catalog (Polaris)
        (8080, "TCP"),  # Trino
        (443, "TCP"),
        (6443, "TCP"),  # the Kubernetes API server
    }


def _peers_reaching(rules: list[dict], port: int) -> list[dict]:
    return [peer for r in rules if any(p["port"] == port for p in r["ports"]) for peer in r["to"]]


def test_network_policy_egress_reaches_the_data_plane_and_the_bundled_db():
    """Computed across both charts: each podSelector peer selects the data plane's pods that
    listen on that port (installed side by side in one namespace, as the runbook does)."""
    engine = render_set("sadeem", "defaults")
    rules = engine_policy(engine)["spec"]["egress"]
    plane = [t for d, t in pod_templates(render_set("dataplane", "defaults")) if not is_hook(d)]
    plane += [t for d, t in pod_templates(engine) if d["kind"] == "StatefulSet"]  # bundled DB
    for port in (9000, 8181, 8080, 5432):
        peers = [p for p in _peers_reaching(rules, port) if "podSelector" in p]
        assert peers, port
        for peer in peers:
            listening = [
                t
                for t in plane
                if matches(peer["podSelector"]["matchLabels"], t["metadata"]["labels"])
                and any(
                    cp["containerPort"] == port
                    for c in t["spec"]["containers"]
                    for cp in c.get("ports", [])
                )
            ]
            assert listening, (port, peer)


# --- Trino and the catalog: their own MinIO users ---------------------------------------------


def _dataplane_containers(docs: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for d, t in pod_templates(docs):
        if is_hook(d):
            continue
        for c in t["spec"]["containers"]:
            out.setdefault(c["name"], []).append(c)
    return out


@pytest.mark.parametrize("value_set", DATAPLANE_SETS)
def test_trino_and_the_catalog_do_not_hold_the_minio_root_credentials(value_set):
    docs = render_set("dataplane", value_set)
    by_name = _dataplane_containers(docs)
    (minio,) = by_name["minio"]
    root = {secret_ref(minio, "MINIO_ROOT_USER"), secret_ref(minio, "MINIO_ROOT_PASSWORD")}
    trino = {
        secret_ref(c, name) for c in by_name["trino"] for name in ("S3_ACCESS_KEY", "S3_SECRET_KEY")
    }
    (polaris,) = by_name["polaris"]
    catalog = {secret_ref(polaris, n) for n in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    assert len(trino) == 2 and len(catalog) == 2
    # Not the root's keys, and not the same Secret under another key name either.
    root_secrets = {name for name, _ in root}
    assert not {n for n, _ in trino} & root_secrets
    assert not {n for n, _ in catalog} & root_secrets
    assert not trino & catalog  # and not each other's
    # Outside MinIO, only hooks see the root credentials.
    for d, t in pod_templates(docs):
        for c in containers(t["spec"]):
            uses_root = any(
                (e["valueFrom"]["secretKeyRef"]["name"], e["valueFrom"]["secretKeyRef"]["key"])
                in root
                for e in c.get("env", [])
                if "secretKeyRef" in e.get("valueFrom", {})
            )
            if uses_root and c["name"] != "minio":
                assert is_hook(d), (d["metadata"]["name"], c["name"])
    # The users' hook creates exactly these users from exactly these Secrets.
    (setup,) = [
        c
        for d, t in pod_templates(docs)
        if is_hook(d)
        for c in containers(t["spec"])
        if "mc admin user add" in " ".join(c.get("args", []))
    ]
    refs = {
        (e["valueFrom"]["secretKeyRef"]["name"], e["valueFrom"]["secretKeyRef"]["key"])
        for e in setup["env"]
        if "secretKeyRef" in e.get("valueFrom", {})
    }
    assert trino | catalog | root <= refs


def test_generated_user_credentials_differ_from_root():
    docs = render_set("dataplane", "defaults")
    data = {d["metadata"]["name"]: d["data"] for d in docs if d["kind"] == "Secret"}
    by_name = _dataplane_containers(docs)
    (minio,) = by_name["minio"]
    root_user = base64.b64decode(data[secret_ref(minio, "MINIO_ROOT_USER")[0]]["root-user"])
    for container, env in (
        (by_name["trino"][0], "S3_ACCESS_KEY"),
        (by_name["polaris"][0], "AWS_ACCESS_KEY_ID"),
    ):
        name, key = secret_ref(container, env)
        assert base64.b64decode(data[name][key]) != root_user


FAKE_MC = r"""#!/bin/sh
# Records each call; plays MinIO's answer for an attachment that is already in place.
echo "$*" >> "$MC_LOG"
case "$*" in
  "admin policy create "*) cp "$6" "$MC_LOG.$5.json" ;;
  "admin policy attach "*)
    if grep -qx "attached $5 $7" "$MC_LOG.state" 2>/dev/null; then
      echo "mc: <ERROR> ${MC_ATTACH_ERROR:-The specified policy change is already in effect.}" >&2
      exit 1
    fi
    echo "attached $5 $7" >> "$MC_LOG.state" ;;
esac
"""


def _setup_script(tmp_path: Path) -> tuple[list[str], dict[str, str]]:
    docs = render_set("dataplane", "defaults")
    (job,) = [d for d in docs if d["kind"] == "Job" and d["metadata"]["name"] == "lake-minio-setup"]
    (c,) = job["spec"]["template"]["spec"]["containers"]
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "mc").write_text(FAKE_MC)
    (bindir / "mc").chmod(0o755)
    # The script writes its policy files to /tmp in the pod; here to a private directory.
    script = c["args"][0].replace("/tmp/", f"{tmp_path}/")
    env = {
        "PATH": f"{bindir}:{os.environ['PATH']}",
        "MC_LOG": str(tmp_path / "mc.log"),
        "MINIO_ROOT_USER": "root",
        "MINIO_ROOT_PASSWORD": "rootpw",
        "TRINO_ACCESS_KEY": "trino",
        "TRINO_SECRET_KEY": "t-secret",
        "CATALOG_ACCESS_KEY": "polaris",
        "CATALOG_SECRET_KEY": "p-secret",
    }
    return [*c["command"], script], env


def test_minio_setup_hook_creates_each_user_with_a_warehouse_only_policy(tmp_path):
    cmd, env = _setup_script(tmp_path)
    first = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=30)
    assert first.returncode == 0, first.stderr
    calls = (tmp_path / "mc.log").read_text().splitlines()
    assert "admin user add lake trino t-secret" in calls
    assert "admin user add lake polaris p-secret" in calls
    for policy, user in (("sadeem-trino", "trino"), ("sadeem-catalog", "polaris")):
        assert f"admin policy attach lake {policy} --user {user}" in calls
        doc = json.loads((tmp_path / f"mc.log.{policy}.json").read_text())
        resources = {r for s in doc["Statement"] for r in s["Resource"]}
        # The warehouse bucket (catalog.warehouseBucket), nothing else: no `raw`, no `*`.
        assert resources == {"arn:aws:s3:::lakehouse", "arn:aws:s3:::lakehouse/*"}
        assert all(s["Effect"] == "Allow" and "s3:*" not in s["Action"] for s in doc["Statement"])
    # An upgrade runs it again: the attachments are in place, and that is not a failure.
    again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=30)
    assert again.returncode == 0, again.stderr


def test_minio_setup_hook_fails_on_any_other_attach_error(tmp_path):
    cmd, env = _setup_script(tmp_path)
    assert subprocess.run(cmd, env=env, capture_output=True, timeout=30).returncode == 0
    env["MC_ATTACH_ERROR"] = "Access Denied."
    failed = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=30)
    assert failed.returncode != 0 and "Access Denied" in failed.stderr
