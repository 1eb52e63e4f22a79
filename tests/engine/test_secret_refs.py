"""Secret references point only where the platform admin allows (README "Connections and
secrets"): `file:` under `secret_file_dirs` after symlinks and `..` are resolved, `env:` names
with `secret_env_prefix`, `k8s:` in `secret_k8s_namespaces`; never the data dir, the key file
or the database. Refused at save for every role (admins included) and again when resolved.
URL fields carrying user:password@ are refused and never stored or shown. The real `k8s:`
reader runs against the Kubernetes fake."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from sqlalchemy import select, update

from engine.cli.main import main
from engine.errors import PermissionDenied, SecretError, ValidationError
from engine.models import AuditEvent, Connection
from engine.secrets import SecretBox, SecretPolicy, read_k8s_secret
from engine.settings import Settings
from tests.fakes.k8s_api import FakeKubernetes

VALUE = "allowed-VALUE-30417"
PASSWORD = "urlPW-88213"


@pytest.fixture
def allowed(tmp_path: Path) -> Path:
    d = tmp_path / "run-secrets"
    d.mkdir()
    (d / "pg").write_text(VALUE + "\n")
    return d


@pytest.fixture
def services(db_url: str, tmp_path: Path, allowed: Path):
    """An engine whose admin allows `file:` under `allowed`, `env:SADEEM_SECRET_*` and
    `k8s:` in namespace `lake` (overrides the shared fixture, so `make_member` uses it)."""
    from engine.context import Actor
    from engine.wiring import open_services

    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=db_url,
        secret_file_dirs=(str(allowed),),
        secret_k8s_namespaces=("lake",),
    )
    svc = open_services(settings, migrate=True)
    svc.users.register(Actor("admin", "test"))
    try:
        yield svc
    finally:
        svc.close()


@pytest.fixture
def who(services, admin, make_member):
    """(actor, workspace) for the platform admin (platform connection) and a workspace owner."""
    services.workspaces.create(admin, "team")
    return {"admin": (admin, None), "owner": (make_member("team", "owner"), "team")}


def refused_refs(services, allowed: Path, tmp_path: Path) -> dict[str, str]:
    data = services.settings.data_dir
    (allowed / "to-key").symlink_to(data / "secret.key")
    (allowed / "to-passwd").symlink_to("/etc/passwd")
    (allowed / "sub").mkdir()
    return {
        f"file:{data}/secret.key": "data dir",
        f"file:{allowed}/../data/secret.key": "data dir",
        f"file:/run/secrets/../../{data}/secret.key": "data dir",
        f"file:{allowed}/sub/../../data/sadeem.db": "data dir",
        f"file:{allowed}/to-key": "data dir",
        f"file:{allowed}/to-passwd": "allowed directory",
        "file:/proc/self/environ": "allowed directory",
        "env:PATH": "SADEEM_SECRET_",
        "env:ANY_NAME": "SADEEM_SECRET_",
        "env:SADEEM_SECRET_KEY": "Sadeem's own settings",
        "k8s:kube-system/admin-token#token": "allowed namespace",
    }


@pytest.mark.parametrize("role", ["admin", "owner"])
def test_disallowed_references_refused_at_create_and_update(
    services, who, role, allowed, tmp_path, monkeypatch
):
    actor, ws = who[role]
    monkeypatch.setenv("ANY_NAME", "x")
    services.deps.secrets.encrypt("warm")  # the key file exists, so a symlink to it resolves
    before = _audit_count(services)
    for ref, rule in refused_refs(services, allowed, tmp_path).items():
        config = {"host": "h", "database": "d", "user": "u", "password": ref}
        with pytest.raises(ValidationError, match=rule) as info:
            services.connections.create(actor, "pg", "postgres", config, workspace=ws)
        assert info.value.field == "config.password"
    assert services.connections.list(actor) == [] and _audit_count(services) == before

    good = {"host": "h", "database": "d", "user": "u", "password": f"file:{allowed}/pg"}
    services.connections.create(actor, "pg", "postgres", good, workspace=ws)
    assert services.connections.resolve(actor, "pg").config["password"] == VALUE
    for ref, rule in refused_refs_again(services, allowed).items():
        with pytest.raises(ValidationError, match=rule):
            services.connections.update(actor, "pg", {"password": ref})
    with services.db.session() as s:
        assert s.scalar(select(Connection.config)).get("password") == f"file:{allowed}/pg"


def refused_refs_again(services, allowed: Path) -> dict[str, str]:
    return {
        f"file:{allowed}/../data/secret.key": "data dir",
        "env:HOME": "SADEEM_SECRET_",
        "k8s:default/x#y": "allowed namespace",
    }


def test_allowed_env_prefix_resolves(services, admin, monkeypatch):
    monkeypatch.setenv("SADEEM_SECRET_PG", VALUE)
    config = {"host": "h", "database": "d", "user": "u", "password": "env:SADEEM_SECRET_PG"}
    services.connections.create(admin, "pg", "postgres", config)
    assert services.connections.resolve(admin, "pg").config["password"] == VALUE


def test_reference_stored_before_the_rule_is_refused_when_resolved(services, admin, monkeypatch):
    """Defence in depth: a row that holds a disallowed reference (saved before the rule, or
    written behind the service's back) is never read."""
    monkeypatch.setenv("LEGACY", VALUE)
    services.connections.create(admin, "pg", "postgres", {"host": "h", "database": "d",
                                "user": "u", "password": "enc-me"})  # fmt: skip
    key = services.settings.data_dir / "secret.key"
    for ref in ("env:LEGACY", f"file:{key}"):
        with services.db.session() as s:
            row = s.scalar(select(Connection))
            s.execute(
                update(Connection)
                .where(Connection.id == row.id)
                .values(config={**row.config, "password": ref})
            )
        with pytest.raises(SecretError, match="refused") as info:
            services.connections.resolve(admin, "pg")
        assert VALUE not in str(info.value) and key.read_text().strip() not in str(info.value)


def test_policy_from_settings_defaults():
    """The README's defaults: /run/secrets, SADEEM_SECRET_, no Kubernetes namespace."""
    policy = SecretPolicy.from_settings(Settings(data_dir=Path("/srv/sadeem")))
    assert policy.file_dirs == ("/run/secrets",) and policy.env_prefix == "SADEEM_SECRET_"
    assert policy.refusal("k8s:lake/s#k") is not None
    assert policy.refusal("file:/run/secrets/minio") is None
    assert policy.refusal("env:SADEEM_SECRET_MINIO") is None
    assert policy.refusal("env:SADEEM_DATABASE_URL") is not None
    assert policy.refusal("file:/srv/sadeem/sadeem.db") is not None


# -- URL userinfo --------------------------------------------------------------------------

USERINFO = [
    ("s3", {"endpoint": f"http://ak:{PASSWORD}@minio:9000"}, "config.endpoint", "secret_key"),
    ("s3", {"endpoint": f"http://{PASSWORD}@minio:9000"}, "config.endpoint", "secret_key"),
    ("iceberg_sql", {"uri": f"postgresql://cat:{PASSWORD}@db/cat"}, "config.uri", "password"),
    ("iceberg_rest", {"uri": f"https://u:{PASSWORD}@rest:8181"}, "config.uri", "credential"),
    ("trino", {"host": f"u:{PASSWORD}@trino"}, "config.host", "password"),
    ("postgres", {"host": f"u:{PASSWORD}@db", "database": "d", "user": "u"}, "config.host",
     "password"),
    ("trino", {"host": "t", "ui_base_url": f"http://u:{PASSWORD}@ui"}, "config.ui_base_url",
     "password"),
    # Drivers (libpq, SQLAlchemy) take the password from the query string too.
    ("iceberg_sql", {"uri": f"postgresql://db/cat?user=cat&password={PASSWORD}"}, "config.uri",
     "password"),
    ("iceberg_rest", {"uri": f"https://rest:8181/?token={PASSWORD}"}, "config.uri", "credential"),
]  # fmt: skip


@pytest.mark.parametrize(("kind", "config", "field", "points_at"), USERINFO)
def test_url_userinfo_refused_at_save(services, who, kind, config, field, points_at):
    for actor, ws in who.values():
        with pytest.raises(ValidationError, match=points_at) as info:
            services.connections.create(actor, "c", kind, config, workspace=ws)
        assert info.value.field == field and PASSWORD not in str(info.value)
    assert services.connections.list(who["admin"][0]) == []


def test_only_platform_admins_make_connections_that_run_as_the_engine(services, who, tmp_path):
    """A spark_local job runs its program (`spark_submit` names it) as the engine's own OS
    account, which reads the key and every workspace's files: a workspace owner's own
    spark_local connection would hand them that account. Platform scope, admins only."""
    marker = tmp_path / "ran-as-engine"
    config = {"spark_submit": f"/bin/sh -c 'touch {marker}'"}
    for actor, ws in (who["owner"], (who["admin"][0], "team")):
        with pytest.raises(PermissionDenied, match="platform admin"):
            services.connections.create(actor, "local", "spark_local", config, workspace=ws)
    assert services.connections.list(who["admin"][0]) == []
    services.connections.create(who["admin"][0], "local", "spark_local", {})
    with pytest.raises(PermissionDenied):
        services.connections.update(who["owner"][0], "local", config)


def test_iceberg_sql_password_goes_in_its_secret_field(services, admin, tmp_path):
    view = services.connections.create(
        admin,
        "cat",
        "iceberg_sql",
        {"uri": f"sqlite:///{tmp_path}/cat.db", "warehouse": str(tmp_path), "password": PASSWORD},
    )
    assert view.config["password"] == "*** (enc)"


def test_url_userinfo_never_stored_or_shown_by_the_cli(tmp_path, capsys):
    d = ["--data-dir", str(tmp_path)]
    for argv in (
        ["connection", "create", "m", "--type", "s3", "--set",
         f"endpoint=http://ak:{PASSWORD}@127.0.0.1:9"],
        ["connection", "create", "c", "--type", "iceberg_sql", "--set",
         f"uri=postgresql://u:{PASSWORD}@127.0.0.1:9/c"],
        ["connection", "create", "t", "--type", "trino", "--set", f"host=u:{PASSWORD}@h"],
    ):  # fmt: skip
        assert main([*argv, *d]) == 2
    assert main(["connection", "create", "ok", "--type", "s3", "--set",
                 "endpoint=http://127.0.0.1:9", *d]) == 0  # fmt: skip
    for argv in (["connection", "list", "--json"], ["connection", "show", "ok"],
                 ["audit", "list", "--json"]):  # fmt: skip
        assert main([*argv, *d]) == 0
    out = capsys.readouterr()
    assert "secret field" in out.err and PASSWORD not in out.out + out.err
    assert '"ok"' in out.out
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert PASSWORD.encode() not in path.read_bytes(), path


def test_legacy_userinfo_is_masked_wherever_shown(services, admin, capsys):
    """A row saved before the rule still never shows its password: views, audit, the S3
    test message and health."""
    services.connections.create(admin, "m", "s3", {"endpoint": "http://127.0.0.1:9"})
    with services.db.session() as s:
        row = s.scalar(select(Connection))
        legacy = {**row.config, "endpoint": f"http://ak:{PASSWORD}@127.0.0.1:9"}
        s.execute(update(Connection).where(Connection.id == row.id).values(config=legacy))
    shown = repr(services.connections.get(admin, "m")) + repr(services.connections.list(admin))
    health = repr(services.health.test(admin, "m"))
    # Any change re-checks the whole config: the operator is told to fix the endpoint.
    with pytest.raises(ValidationError, match="user:password") as info:
        services.connections.update(admin, "m", {"region": "eu-1"})
    assert info.value.field == "config.endpoint" and PASSWORD not in str(info.value)
    services.connections.update(admin, "m", {"endpoint": "http://127.0.0.1:9"})
    with services.db.session() as s:
        audit = json.dumps([e.details for e in s.scalars(select(AuditEvent))])
    assert "ak:***@127.0.0.1" in shown
    for text in (shown, health, audit):
        assert PASSWORD not in text


def test_health_masks_urls_in_backend_messages(services, admin, monkeypatch):
    """Backends' own messages may quote a URL: health shows it masked."""
    from engine.backends.base import HealthResult

    services.connections.create(admin, "m", "s3", {"endpoint": "http://127.0.0.1:9"})
    detail = f"GET http://ak:{PASSWORD}@127.0.0.1:9/ failed"
    monkeypatch.setattr(
        "engine.services.health.probe", lambda *a, **k: HealthResult(False, detail=detail)
    )
    shown = services.health.test(admin, "m").detail
    assert shown == "GET http://ak:***@127.0.0.1:9/ failed"


def test_config_show_masks_a_database_password_in_the_query_string(tmp_path, capsys):
    url = f"postgresql://127.0.0.1:1/test?user=sadeem&password={PASSWORD}&sslmode=disable"
    code = main(["--data-dir", str(tmp_path), "--database-url", url, "config", "show"])
    out = capsys.readouterr()
    assert code == 0 and "sslmode=disable" in out.out  # the URL is shown, masked
    assert PASSWORD not in out.out + out.err


def test_s3_test_message_masks_the_endpoint():
    from engine.backends.s3 import S3Store

    store = S3Store(endpoint=f"http://ak:{PASSWORD}@127.0.0.1:9", timeout_s=1)
    result = store.test()
    assert not result.ok and PASSWORD not in result.detail + repr(store)


# -- the real k8s: reader against the Kubernetes fake ----------------------------------------


@pytest.fixture
def kube(tmp_path, monkeypatch):
    fake = FakeKubernetes(forbidden=("locked",)).start()
    config = tmp_path / "kubeconfig"
    config.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "fake", "cluster": {"server": fake.url}}],
                "users": [{"name": "engine", "user": {"token": "test-token"}}],
                "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "engine"}}],
                "current-context": "fake",
            }
        )
    )
    monkeypatch.setenv("KUBECONFIG", str(config))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    yield fake
    fake.stop()


def test_real_k8s_reader_reads_base64_data(kube):
    kube.add_secret("lake", "s3-creds", {"secret_key": VALUE, "other": "x"})
    assert read_k8s_secret("lake", "s3-creds", "secret_key") == VALUE
    with pytest.raises(SecretError, match="404"):
        read_k8s_secret("lake", "missing", "secret_key")
    kube.add_secret("locked", "s3-creds", {"secret_key": VALUE})
    with pytest.raises(SecretError, match="403"):
        read_k8s_secret("locked", "s3-creds", "secret_key")
    with pytest.raises(SecretError, match="no key 'nope'") as info:
        read_k8s_secret("lake", "s3-creds", "nope")
    assert VALUE not in str(info.value)


def test_secret_box_resolves_k8s_only_in_allowed_namespaces(kube, tmp_path):
    kube.add_secret("lake", "s3-creds", {"secret_key": VALUE})
    kube.add_secret("other", "s3-creds", {"secret_key": VALUE})
    box = SecretBox(tmp_path, policy=SecretPolicy(k8s_namespaces=("lake",)))
    assert box.resolve("k8s:lake/s3-creds#secret_key") == VALUE
    with pytest.raises(SecretError, match="allowed namespace"):
        box.resolve("k8s:other/s3-creds#secret_key")
    with pytest.raises(ValidationError, match="allowed namespace"):
        box.protect("k8s:other/s3-creds#secret_key", "config.secret_key")


def _audit_count(services) -> int:
    with services.db.session() as s:
        return len(s.scalars(select(AuditEvent)).all())


def test_symlink_swapped_after_save_is_refused_when_resolved(services, admin, allowed):
    link = allowed / "later"
    link.write_text(VALUE)
    config = {"host": "h", "database": "d", "user": "u", "password": f"file:{link}"}
    services.connections.create(admin, "pg", "postgres", config)
    services.deps.secrets.encrypt("warm")
    link.unlink()
    link.symlink_to(services.settings.data_dir / "secret.key")
    with pytest.raises(SecretError, match="refused"):
        services.connections.resolve(admin, "pg")
    assert os.path.islink(link)


def test_a_directory_swapped_for_a_link_between_check_and_open_is_refused(services, admin, allowed):
    """The race the last-component O_NOFOLLOW missed: `allowed/sub` is checked as a real
    directory, then replaced by a link to the data dir before the open. Simulated exactly
    by doing the swap inside the policy's second check (the one right before the open)."""
    sub = allowed / "sub"
    sub.mkdir()
    (sub / "secret.key").write_text(VALUE)
    config = {"host": "h", "database": "d", "user": "u", "password": f"file:{sub}/secret.key"}
    services.connections.create(admin, "pg", "postgres", config)
    services.deps.secrets.encrypt("warm")  # the data dir's secret.key exists
    assert services.connections.resolve(admin, "pg").config["password"] == VALUE
    policy = services.deps.secrets.policy
    checks = []
    real_refusal = policy.refusal

    def swapping(ref: str) -> str | None:
        checks.append(ref)
        answer = real_refusal(ref)
        if len(checks) == 2:  # resolve's re-check passed: now the attacker swaps
            (sub / "secret.key").unlink()
            sub.rmdir()
            sub.symlink_to(services.settings.data_dir)
        return answer

    object.__setattr__(policy, "refusal", swapping)
    with pytest.raises(SecretError) as info:
        services.connections.resolve(admin, "pg")
    assert len(checks) == 2 and sub.is_symlink()
    key = (services.settings.data_dir / "secret.key").read_text()
    assert key not in str(info.value)


def test_a_fifo_or_a_huge_file_is_refused_without_hanging(services, admin, allowed):
    fifo = allowed / "fifo"
    os.mkfifo(fifo)
    huge = allowed / "huge"
    huge.write_bytes(b"x" * (2 << 20))
    for path in (fifo, huge):
        config = {"host": "h", "database": "d", "user": "u", "password": f"file:{path}"}
        services.connections.create(admin, path.name, "postgres", config)
        with pytest.raises(SecretError, match="cannot read secret file"):
            services.connections.resolve(admin, path.name)


def test_allowed_places_come_from_the_system_config_only(tmp_path, monkeypatch, capsys):
    """The system config widens the places; a user's own config, env or flag cannot."""
    etc = tmp_path / "etc"
    etc.mkdir(mode=0o755)
    allowed = tmp_path / "srv-secrets"
    allowed.mkdir()
    (allowed / "pg").write_text(VALUE)
    (etc / "config.toml").write_text(f'secret_file_dirs = ["{allowed}"]\n')
    monkeypatch.setattr("engine.settings.SYSTEM_CONFIG_PATH", etc / "config.toml")
    monkeypatch.setattr("engine.settings.SYSTEM_CONFIG_OWNER", os.getuid())
    user_conf = tmp_path / "user.toml"
    user_conf.write_text('secret_file_dirs = ["/"]\nsecret_env_prefix = ""\n')
    monkeypatch.setenv("SADEEM_CONFIG", str(user_conf))
    monkeypatch.setenv("SADEEM_SECRET_FILE_DIRS", "/")
    d = ["--data-dir", str(tmp_path / "data")]
    pg = ["connection", "create", "pg", "--type", "postgres", "--set", "host=h", "--set",
          "database=d", "--set", "user=u"]  # fmt: skip
    assert main([*pg, "--set", "password=file:/etc/passwd", *d]) == 2
    assert "allowed directory" in capsys.readouterr().err
    assert main([*pg, "--set", f"password=file:{allowed}/pg", *d]) == 0


ENGINE_HOST_FILES = [
    ("iceberg_sql", {}, "config.uri"),  # = the engine's own catalog: every workspace's tables
    ("iceberg_sql", {"uri": "sqlite:////srv/sadeem.db", "warehouse": "s3://w"}, "config.uri"),
    ("iceberg_sql", {"uri": "SQLite:///relative.db", "warehouse": "s3://w"}, "config.uri"),
    ("iceberg_sql", {"uri": "postgresql://db/cat"}, "config.warehouse"),
    ("iceberg_sql", {"uri": "postgresql://db/cat", "warehouse": "/root/.ssh"}, "config.warehouse"),
    ("iceberg_sql", {"uri": "postgresql://db/cat", "warehouse": "file:///etc"}, "config.warehouse"),
    ("spark_operator", {"namespace": "n", "kubeconfig": "/srv/key"}, "config.kubeconfig"),
]  # fmt: skip


@pytest.mark.parametrize(("kind", "config", "field"), ENGINE_HOST_FILES)
def test_a_workspace_connection_never_names_a_file_of_the_engine_host(
    services, who, kind, config, field
):
    """An owner's connection that pointed at the engine's own catalog, a SQLite file or a
    local directory would read every workspace's tables or write where it says, as the
    engine: refused at save and at update, for admins too (the owners could change it)."""
    admin = who["admin"][0]
    for actor, ws in (who["owner"], (admin, "team")):
        with pytest.raises(PermissionDenied, match="platform admin") as info:
            services.connections.create(actor, "c", kind, config, workspace=ws)
        assert str(info.value).startswith(field)
    assert services.connections.list(admin) == []
    # A remote catalog is the workspace's to have; turning it into a local one is refused.
    remote = (
        {"uri": "postgresql://db/cat", "warehouse": "s3://lake/team"}
        if kind == "iceberg_sql"
        else {"namespace": "n"}
    )
    services.connections.create(who["owner"][0], "c", kind, remote, workspace="team")
    with pytest.raises(PermissionDenied, match="platform admin"):
        gone = [k for k in remote if k not in config]
        services.connections.update(who["owner"][0], "c", config, unset=gone)
    stored = services.connections.get(admin, "c").config
    assert {k: stored[k] for k in remote} == remote
    # The platform's own connection may (the embedded catalog is one).
    services.connections.create(admin, "platform", kind, {**remote, **config})
