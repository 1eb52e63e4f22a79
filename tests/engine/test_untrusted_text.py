"""Untrusted text is plain text (issue 13, item 7): `plain` keeps what is printable, tab and
newline, and nothing a terminal would obey; the CLI prints names, descriptions, run errors,
log lines, cell values and error messages through it (tables, records, logs, `error:`
lines), and its JSON escapes controls by nature. Descriptions have a length limit."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from engine.cli.main import main
from engine.context import Actor, os_username
from engine.errors import ValidationError
from engine.settings import Settings
from engine.text import plain
from engine.wiring import open_services

MARKUP = "[/b] [red]x[/red]"
SEQUENCES = "\x1b]0;pwned\x07\x1b[2J\b"
HOSTILE = f"<<{MARKUP}{SEQUENCES}>>"
SHOWN = f"<<{MARKUP}>>"  # what a reader must see: the markup as typed, nothing else
# What a terminal acts on: C0 but tab and newline, DEL, C1, bidi overrides and isolates.
CONTROLS = [chr(c) for c in (*range(0x00, 0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0))] + [
    "\u202a",
    "\u202b",
    "\u202c",
    "\u202d",
    "\u202e",
    "\u2066",
    "\u2067",
    "\u2068",
    "\u2069",
]


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("plain text, tab\tand\nnewline", "plain text, tab\tand\nnewline"),
        ("title \x1b]0;pwned\x07 after", "title  after"),  # OSC to BEL
        ("link \x1b]8;;http://evil\x1b\\here\x1b]8;;\x1b\\", "link here"),  # OSC to ST
        ("clear\x1b[2J\x1b[H screen", "clear screen"),
        ("\x1b[1;31mred\x1b[0m log", "red log"),
        ("back\b\b\bspace", "backspace"),
        ("bell\x07 nul\x00 del\x7f", "bell nul del"),
        ("c1 \x9b2J csi, \x85nel", "c1  csi, nel"),
        ("progress 10%\rprogress 99%", "progress 10%\nprogress 99%"),
        ("windows\r\nline", "windows\nline"),
        ("user\u202eexe.txt", "userexe.txt"),  # "Trojan Source" reordering
        ("unterminated \x1b]0;title", "unterminated 0;title"),  # the ESC goes, the rest shows
        ("accents é, arabic سديم, emoji 🚀", "accents é, arabic سديم, emoji 🚀"),
        (MARKUP, MARKUP),  # markup is the console's business, not plain's
    ],
)
def test_plain(raw, shown):
    assert plain(raw) == shown


def test_plain_leaves_no_control_of_any_kind():
    everything = "".join(chr(c) for c in range(0x2070)) + "\x1b[2J\x1b]0;t\x07"
    out = plain(everything)
    assert not [c for c in CONTROLS if c in out]
    assert "\t" in out and "\n" in out


@pytest.fixture
def site(tmp_path):
    """A data dir with a hostile job, a failed run with a hostile error and log, and a
    hostile table, all made by the OS user (whom the CLI acts as)."""
    svc = open_services(Settings(data_dir=tmp_path))
    me = Actor(os_username(), "test")
    svc.users.register(me)
    svc.workspaces.create(me, "ws", description=HOSTILE)
    svc.provisioning.apply(me, "ws")
    svc.jobs.create(me, "ws", "j", "sql", {"sql": "SELECT 1 AS x"}, description=HOSTILE)
    run = svc.runs.trigger(me, "ws", "j")
    svc.queue.append_log(run.id, f"log {HOSTILE}\n")
    svc.queue.finish(run.id, "failed", error=f"error {HOSTILE}")
    # Sadeem's own SQL refuses such a name; another writer of the catalog (Spark, Trino) does not.
    ws = svc.workspaces.get(me, "ws")
    svc.lakehouse.catalog(me, ws).create_table(
        f"ws_bronze.t{SEQUENCES}", pa.schema([pa.field("x", pa.int64())])
    )
    svc.close()
    return ("--data-dir", str(tmp_path)), run.id


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    for stream in (out.out, out.err):
        leaked = [repr(c) for c in CONTROLS if c in stream]
        assert not leaked, f"{argv} printed {leaked}"
    return code, out.out, out.err


def test_cli_tables_records_and_logs_print_plain_text(site, capsys):
    d, run_id = site
    for argv, expected in (
        (["job", "show", "-w", "ws", "j"], SHOWN),
        (["workspace", "list"], SHOWN),
        (["workspace", "show", "ws"], SHOWN),
        (["run", "list", "-w", "ws"], f"error {SHOWN}"),
        (["run", "show", str(run_id)], f"error {SHOWN}"),
        (["run", "logs", str(run_id)], f"log {SHOWN}"),
        (["catalog", "ls", "ws_bronze"], "t"),
        (["catalog", "show", "ws_bronze.t" + SEQUENCES], "ws_bronze.t"),
        (
            [
                "sql",
                "-w",
                "ws",
                "-e",
                "SELECT chr(27) || ']0;pwned' || chr(7) || '<<[/b] [red]x[/red]' || chr(8) "
                "|| '>>' AS \"v\"",
            ],
            SHOWN,
        ),
    ):
        code, out, err = cli(capsys, *argv, *d)
        assert code == 0, (argv, err)
        assert expected in out, (argv, out)


def test_cli_error_lines_print_plain_text(site, capsys):
    d, _ = site
    code, _out, err = cli(capsys, "sql", "-w", "ws", "-e", f'SELECT "{HOSTILE}"', *d)
    assert code != 0 and err.startswith("error: ") and SHOWN in err


def test_cli_json_escapes_every_control(site, capsys):
    d, run_id = site
    code, out, _ = cli(capsys, "job", "show", "-w", "ws", "j", "--json", *d)
    assert code == 0 and json.loads(out)["description"] == HOSTILE  # the data, intact
    code, out, _ = cli(capsys, "run", "show", str(run_id), "--json", *d)
    assert json.loads(out)["error"] == f"error {HOSTILE}"


def test_descriptions_have_a_length_limit(services, admin):
    """Like a workspace's (README: at most 2,000 characters), for jobs and connections."""
    long = "d" * 2001
    services.workspaces.create(admin, "ws")
    with pytest.raises(ValidationError, match="description"):
        services.workspaces.create(admin, "ws2", description=long)
    with pytest.raises(ValidationError, match="description"):
        services.jobs.create(admin, "ws", "j", "sql", {"sql": "SELECT 1"}, description=long)
    with pytest.raises(ValidationError, match="description"):
        services.connections.create(admin, "c", "duckdb", {}, description=long)
    services.jobs.create(admin, "ws", "j", "sql", {"sql": "SELECT 1"}, description="d" * 2000)
    services.connections.create(admin, "c", "duckdb", {}, description="d" * 2000)
    with pytest.raises(ValidationError, match="description"):
        services.jobs.edit(admin, "ws", "j", description=long)
    with pytest.raises(ValidationError, match="description"):
        services.connections.update(admin, "c", description=long)
    assert services.jobs.get(admin, "ws", "j").description == "d" * 2000
    assert services.connections.get(admin, "c").description == "d" * 2000
