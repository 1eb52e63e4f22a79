"""`sadeem catalog ls [NAMESPACE]`, `sadeem catalog show TABLE [--snapshots]`,
`sadeem catalog adopt [--empty]`."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.cli.runtime import Cli

from engine.cli.inputs import MAX_ID, whole
from engine.text import plain


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    group = sub.add_parser("catalog", help="Iceberg namespaces and tables")
    verbs = group.add_subparsers(dest="verb", metavar="VERB")
    ls = verbs.add_parser("ls", parents=[common], help="namespaces, or the tables of one")
    ls.add_argument("namespace", nargs="?")
    ls.add_argument("-w", "--workspace", help="only this workspace's namespaces")
    ls.set_defaults(handler=ls_catalog)
    show = verbs.add_parser("show", parents=[common], help="schema, partitions, properties")
    show.add_argument("table", help="NAMESPACE.TABLE")
    show.add_argument("--snapshots", action="store_true", help="list snapshots too")
    show.add_argument("--sample", type=whole(0), metavar="N", help="show N sample rows")
    show.add_argument("--snapshot-id", type=whole(-MAX_ID - 1), help="sample as of this snapshot")
    show.add_argument("--as-of", help="sample as of this ISO time")
    show.set_defaults(handler=show_table)
    adopt = verbs.add_parser(
        "adopt",
        parents=[common],
        help="make <data_dir>/catalog.db this site's embedded catalog (after a restore)",
    )
    adopt.add_argument(
        "--empty",
        action="store_true",
        help="move the file there aside and start an empty catalog (its tables are lost)",
    )
    adopt.set_defaults(handler=adopt_catalog)


def ls_catalog(cli: Cli) -> None:
    from engine.cli.output import emit

    a = cli.args
    if a.namespace:
        tables = cli.services.catalog.tables(cli.actor, a.namespace)
        emit(cli, [{"table": f"{a.namespace}.{t}"} for t in tables], ["table"])
    else:
        names = cli.services.catalog.namespaces(cli.actor, a.workspace)
        emit(cli, [{"namespace": n} for n in names], ["namespace"])


def show_table(cli: Cli) -> None:
    from engine.cli.audit import parse_time
    from engine.cli.output import emit, print_table, to_data

    a = cli.args
    info = cli.services.catalog.table(cli.actor, a.table)
    data = to_data(info)
    sample = None
    if a.sample or a.snapshot_id or a.as_of:
        sample = cli.services.catalog.sample(
            cli.actor,
            a.table,
            a.sample or 20,
            snapshot_id=a.snapshot_id,
            as_of=parse_time(a.as_of, "--as-of"),
        )
    if cli.json:
        if not a.snapshots:
            data.pop("snapshots")
        if sample is not None:
            data["sample"] = sample.to_pylist()
        emit(cli, data)
        return
    print(plain(f"{info.identifier}  ({info.location})"))
    print(
        f"snapshot {info.current_snapshot_id}  files {info.data_files}  "
        f"records {info.total_records}  bytes {info.total_bytes}"
    )
    print(
        f"partitioned by: {', '.join(info.partition_spec) or '-'}; "
        f"sorted by: {', '.join(info.sort_order) or '-'}\n"
    )
    print_table(info.columns, ["field_id", "name", "type", "required", "doc"])
    if info.properties:
        print()
        print_table(
            [{"property": k, "value": v} for k, v in sorted(info.properties.items())],
            ["property", "value"],
        )
    if a.snapshots:
        print()
        print_table(info.snapshots, ["snapshot_id", "parent_id", "timestamp", "operation"])
    if sample is not None:
        print()
        print_table(sample.to_pylist(), sample.column_names)


def adopt_catalog(cli: Cli) -> None:
    from engine.cli.output import emit

    guard = cli.services.catalog_guard
    identity = guard.adopt(cli.actor, empty=cli.args.empty)
    emit(cli, {"catalog": str(guard.path), "identity": identity})
