"""Known secret values pushed through every path; then logs, audit rows, stored configs,
CLI output, exceptions and tracebacks are scanned: none of the values may appear."""

from __future__ import annotations

import json
import logging
import os
import stat
import traceback
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.cli.main import main
from engine.errors import SadeemError, SecretError, ValidationError
from engine.models import AuditEvent, Connection
from engine.secrets import SecretBox, SecretPolicy

CLEAR = "s3cr3t-clear-VALUE-7781"
ROTATED = "r0tated-VALUE-99120"
FROM_ENV = "env-VALUE-55314"
FROM_FILE = "file-VALUE-66402"
FROM_K8S = "k8s-VALUE-11873"
IN_URL = "url-PASSWORD-40961"
ALL = (CLEAR, ROTATED, FROM_ENV, FROM_FILE, FROM_K8S, IN_URL)


def assert_clean(text: str) -> None:
    for value in ALL:
        assert value not in text, f"secret {value[:4]}... leaked"


def test_secret_box_roundtrip_and_failures(tmp_path: Path, monkeypatch):
    policy = SecretPolicy(file_dirs=(str(tmp_path / "run"),), k8s_namespaces=("lake",))
    box = SecretBox(tmp_path, k8s_reader=lambda ns, name, key: FROM_K8S, policy=policy)
    ref = box.encrypt(CLEAR)
    assert ref.startswith("enc:") and CLEAR not in ref
    assert box.resolve(ref) == CLEAR
    assert stat.S_IMODE(box.key_file.stat().st_mode) == 0o600
    monkeypatch.setenv("SADEEM_SECRET_S3", FROM_ENV)
    assert box.resolve("env:SADEEM_SECRET_S3") == FROM_ENV
    (tmp_path / "run").mkdir()
    secret_file = tmp_path / "run" / "pw"
    secret_file.write_text(FROM_FILE + "\n")
    assert box.resolve(f"file:{secret_file}") == FROM_FILE
    assert box.resolve("k8s:lake/s3-creds#secret_key") == FROM_K8S
    assert CLEAR not in repr(box)

    errors: list[BaseException] = []
    monkeypatch.setenv("S3_SECRET", FROM_ENV)  # set, but outside the allowed prefix
    for bad in (
        "env:SADEEM_SECRET_NOT_SET_ANYWHERE",
        f"file:{tmp_path}/run/missing",
        "env:S3_SECRET",
        f"file:{secret_file.parent}/../run/../secret.key",
        "plain",
    ):
        with pytest.raises(SecretError) as info:
            box.resolve(bad)
        errors.append(info.value)
    other = SecretBox(tmp_path / "other")  # another key cannot decrypt
    with pytest.raises(SecretError, match="cannot be decrypted") as info:
        other.resolve(ref)
    errors.append(info.value)
    with pytest.raises(ValidationError):
        box.protect("k8s:not a ref", "config.secret_key")
    for err in errors:
        assert_clean("".join(traceback.format_exception(err)))

    os.chmod(box.key_file, 0o644)  # a key file others can read is refused, not used
    with pytest.raises(SecretError, match="chmod 600"):
        SecretBox(tmp_path).resolve(ref)


def test_no_secret_reaches_db_audit_logs_or_errors(services, admin, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("SADEEM_SECRET_S3", FROM_ENV)
    services.workspaces.create(admin, "lake")
    services.connections.create(
        admin,
        "minio",
        "s3",
        {"endpoint": "http://127.0.0.1:9", "access_key": "ak", "secret_key": CLEAR},
    )
    services.connections.update(admin, "minio", {"secret_key": ROTATED})
    services.connections.create(
        admin,
        "trino",
        "trino",
        {"host": "t", "user": "svc", "password": "env:SADEEM_SECRET_S3"},
        workspace="lake",
    )
    # Failures that carry the value into the call: wrong type of field, unknown field.
    failures: list[BaseException] = []
    for config in (
        {"endpoint": "http://x", "secret_key": CLEAR, "path_style": CLEAR},
        {"endpoint": "http://x", "secret": CLEAR},
        {"endpoint": f"http://ak:{IN_URL}@x", "secret_key": CLEAR},
    ):
        with pytest.raises(SadeemError) as info:
            services.connections.create(admin, "bad", "s3", config)
        failures.append(info.value)

    resolved = services.connections.resolve(admin, "minio")
    assert resolved.config["secret_key"] == ROTATED  # resolution works...
    assert ROTATED not in repr(resolved)  # ...but the object never prints it

    with services.db.session() as s:
        configs = json.dumps([c.config for c in s.scalars(select(Connection))])
        audit = json.dumps([[e.action, e.details] for e in s.scalars(select(AuditEvent))])
    views = repr(services.connections.list(admin)) + repr(services.connections.get(admin, "minio"))
    assert "enc:" in configs  # stored as a reference
    for text in (configs, audit, views, caplog.text):
        assert_clean(text)
    for err in failures:
        assert_clean("".join(traceback.format_exception(err)))


def test_cli_output_never_shows_secrets(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SADEEM_SECRET_KEY", "")
    data = ["--data-dir", str(tmp_path)]
    assert (
        main(
            [
                "connection",
                "create",
                "m",
                "--type",
                "s3",
                "--set",
                "endpoint=http://h:9000",
                "--set",
                "access_key=sadeem",
                "--set",
                f"secret_key={CLEAR}",
                *data,
            ]
        )
        == 0
    )
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO(ROTATED + "\n"))
    assert main(["connection", "update", "m", "--secret-stdin", "secret_key", *data]) == 0
    capsys.readouterr()
    # A command that crashed early prints nothing and would pass the scan: each must end
    # as intended (0, or 2 for the refused field) and say something.
    monkeypatch.setenv("S3_SECRET", FROM_ENV)
    key_file = tmp_path / "secret.key"
    refused = ["connection", "create", "x", "--type", "s3", "--set", "endpoint=http://h:9000"]
    for argv, code in (
        (["connection", "show", "m"], 0),
        (["connection", "list", "--json"], 0),
        (["audit", "list", "--json"], 0),
        (["audit", "list"], 0),
        (["config", "show", "--json"], 0),
        (["connection", "create", "x", "--type", "s3", "--set", f"bogus={CLEAR}"], 2),
        (
            ["connection", "create", "x", "--type", "s3", "--set", f"endpoint=http://a:{IN_URL}@h"],
            2,
        ),
        ([*refused, "--set", "secret_key=env:S3_SECRET"], 2),
        ([*refused, "--set", f"secret_key=file:/run/secrets/../..{key_file}"], 2),
        ([*refused, "--set", f"secret_key=file:{tmp_path}/sadeem.db"], 2),
        (["connection", "list", "--json"], 0),
    ):
        assert main([*argv, *data]) == code, argv
        out = capsys.readouterr()
        assert (out.out if code == 0 else out.err).strip(), f"{argv} printed nothing"
        if argv[:2] == ["connection", "show"]:
            assert "*** (enc)" in out.out
        if argv[:2] == ["connection", "list"]:
            assert '"x"' not in out.out  # nothing refused was stored
        assert_clean(out.out + out.err)
        assert key_file.read_text().strip() not in out.out + out.err
    for path in tmp_path.rglob("*"):  # sadeem.db and everything beside it
        if path.is_file():
            assert_clean(path.read_bytes().decode("latin-1"))
