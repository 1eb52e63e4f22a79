"""The CLI end to end, in-process: exit codes, --json, clear errors that change nothing."""

from __future__ import annotations

import json
import subprocess
import sys

from engine.cli.main import main


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_workspace_lifecycle_with_json(tmp_path, capsys):
    d = ("--data-dir", str(tmp_path))
    code, out, _ = run(capsys, "workspace", "create", "sales", "--description", "Sales", *d)
    assert code == 0 and "sales" in out
    code, out, _ = run(capsys, "workspace", "list", "--json", *d)
    listed = json.loads(out)
    assert [w["name"] for w in listed] == ["sales"]
    assert listed[0]["layers"] == ["bronze", "silver", "gold"]
    code, out, _ = run(capsys, "user", "create", "ana", *d)
    assert code == 0
    code, out, _ = run(capsys, "workspace", "member", "add", "sales", "ana", "editor", *d)
    assert code == 0
    code, out, _ = run(capsys, "--json", "workspace", "members", "sales", *d)
    assert {"username": "ana", "role": "editor"} in json.loads(out)
    code, out, _ = run(capsys, "audit", "list", "--json", "--action", "workspace.", *d)
    assert {e["action"] for e in json.loads(out)} == {"workspace.create", "workspace.member.add"}
    code, out, _ = run(capsys, "workspace", "archive", "sales", *d)
    assert code == 0
    code, out, err = run(capsys, "workspace", "update", "sales", "--description", "x", *d)
    assert code == 5 and "archived" in err


def test_bad_input_is_a_clear_error_and_writes_nothing(tmp_path, capsys):
    d = ("--data-dir", str(tmp_path))
    run(capsys, "workspace", "list", *d)  # register the OS user
    code, out, err = run(capsys, "audit", "list", "--json", *d)
    events_before = json.loads(out)
    cases = [
        (["workspace", "create", "Sales!"], "not a valid name"),
        (["connection", "create", "c", "--type", "nosuch"], "unknown connection type"),
        (["connection", "create", "c", "--type", "trino"], "config.host: required"),
        (
            [
                "connection",
                "create",
                "c",
                "--type",
                "trino",
                "--set",
                "host=t",
                "--set",
                "port=eighty",
            ],
            "config.port: expected an integer",
        ),
        (
            ["connection", "create", "c", "--type", "s3", "--set", "endpoint=not-a-url"],
            "config.endpoint",
        ),
        (["connection", "create", "c", "--type", "s3", "--set", "endpoint"], "KEY=VALUE"),
        (["workspace", "show", "nope"], "does not exist"),
        (["audit", "list", "--since", "yesterday"], "--since"),
    ]
    for argv, message in cases:
        code, out, err = run(capsys, *argv, *d)
        assert code != 0, argv
        assert message in err, (argv, err)
        assert "Traceback" not in err
    code, out, _ = run(capsys, "audit", "list", "--json", *d)
    assert json.loads(out) == events_before


def test_config_show_and_db_commands(tmp_path, capsys):
    d = ("--data-dir", str(tmp_path))
    code, out, _ = run(capsys, "db", "upgrade", "--json", *d)
    assert code == 0 and json.loads(out)["revision"]
    code, out, _ = run(capsys, "db", "current", "--json", *d)
    info = json.loads(out)
    assert info["revision"] == info["head"]
    code, out, _ = run(capsys, "config", "show", "--json", *d)
    assert json.loads(out)["data_dir"] == str(tmp_path)


def test_help_is_fast_because_nothing_heavy_is_imported():
    code = (
        "import sys; from engine.cli.main import build_parser; build_parser();"
        "heavy = {'sqlalchemy', 'pyarrow', 'duckdb', 'pyiceberg', 'boto3', 'textual',"
        " 'kubernetes', 'trino', 'alembic', 'cryptography'} & set(sys.modules);"
        "print(sorted(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
