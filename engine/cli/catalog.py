"""`sadeem catalog ls [NAMESPACE]`, `sadeem catalog show TABLE [--snapshots]`."""

from __future__ import annotations

import argparse


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
    show.add_argument("--sample", type=int, metavar="N", help="show N sample rows")
    show.add_argument("--snapshot-id", type=int, help="sample as of this snapshot")
    show.add_argument("--as-of", help="sample as of this ISO time")
    show.set_defaults(handler=show_table)


def ls_catalog(cli) -> None:  # type: ignore[no-untyped-def]
    from engine.cli.output import emit

    a = cli.args
    if a.namespace:
        tables = cli.services.catalog.tables(cli.actor, a.namespace)
        emit(cli, [{"table": f"{a.namespace}.{t}"} for t in tables], ["table"])
    else:
        names = cli.services.catalog.namespaces(cli.actor, a.workspace)
        emit(cli, [{"namespace": n} for n in names], ["namespace"])


def show_table(cli) -> None:  # type: ignore[no-untyped-def]
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
    print(f"{info.identifier}  ({info.location})")
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
