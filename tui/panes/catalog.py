"""Catalog tree: namespaces -> tables -> columns, loaded lazily; a table's schema,
partitioning, properties, snapshots (pick one to sample the table as of it) and rows."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import DataTable, Static, Tree

from engine.text import plain
from tui.panes.base import Pane, literal
from tui.session import Session
from tui.widgets.grid import GridPlaceholder, show_arrow

SAMPLE_ROWS = 200


class CatalogPane(Pane[list[str]]):
    TITLE = "Catalog"
    KEY = "catalog"
    BINDINGS = [
        Binding("enter", "open", "Open", id="catalog.open"),
        Binding("i", "insert", "Insert name into SQL", id="catalog.insert"),
        Binding("s", "sample_snapshot", "Rows as of snapshot", id="catalog.sample_snapshot"),
        Binding("r", "reload", "Reload", id="catalog.reload"),
    ]

    COMPONENT_CLASSES = {"catalog--column-type"}  # a column's type beside its name

    class InsertName(Message):
        """The operator asked for `ident` (a namespace, table or column) in the editor."""

        def __init__(self, ident: str) -> None:
            super().__init__()
            self.ident = ident

    def __init__(self, session: Session, **kwargs: Any) -> None:
        super().__init__(session, **kwargs)
        self._table: str | None = None

    def compose(self) -> ComposeResult:
        yield Static(self.TITLE, classes="pane-title")
        with Horizontal():
            tree: Tree[dict[str, Any]] = Tree("catalog", id="catalog-tree")
            tree.show_root = False
            yield tree
            with Vertical(id="catalog-detail"):
                yield Static("Select a table and press Enter.", id="table-info")
                yield DataTable(cursor_type="row", id="snapshots")
                yield GridPlaceholder("Sample rows show here.", id="sample")

    def on_mount(self) -> None:
        self.query_one("#snapshots", DataTable).add_columns(
            "snapshot", "parent", "committed", "operation", "records"
        )

    def load(self) -> list[str]:
        # One listing of the workspace's catalog (no table metadata, no Iceberg client):
        # its namespaces are the tree's first level.
        ws = self.session.workspace
        return list(self.session.s.catalog.listing(self.session.actor, ws)) if ws else []

    def show(self, data: list[str]) -> None:
        tree: Tree[dict[str, Any]] = self.query_one(Tree)
        tree.clear()
        for ns in data:
            if self._filter and self._filter not in ns:
                continue
            tree.root.add(
                Text(plain(ns)), data={"kind": "namespace", "name": ns}, allow_expand=True
            )
        tree.root.expand()
        self.paint_title()

    def apply_filter(self, text: str) -> None:
        super().apply_filter(text)
        self.reload()

    def on_tree_node_expanded(self, event: Tree.NodeExpanded) -> None:
        node = event.node
        data = node.data or {}
        if node.children or data.get("kind") not in ("namespace", "table"):
            return
        if data["kind"] == "namespace":
            # Listed when expanded (one query), so a table created meanwhile shows.
            self.in_thread(
                lambda: self.session.s.catalog.namespace_listing(self.session.actor, data["name"]),
                lambda tables: self._add_tables(node, data["name"], tables),
            )
        else:
            # Columns only: read once per table version (the listing's), not the snapshots.
            self.in_thread(
                lambda: self.session.s.catalog.columns(
                    self.session.actor, data["name"], data.get("version")
                ),
                lambda columns: self._add_columns(node, columns),
            )

    def _add_tables(self, node: Any, namespace: str, tables: dict[str, str | None]) -> None:
        for table, version in tables.items():
            node.add(
                Text(plain(table)),
                data={"kind": "table", "name": f"{namespace}.{table}", "version": version},
                allow_expand=True,
            )

    def _add_columns(self, node: Any, columns: Any) -> None:
        type_style = self.get_component_rich_style("catalog--column-type", partial=True)
        for col in columns:
            node.add_leaf(
                Text.assemble(plain(col.name), "  ", (plain(col.type), type_style)),
                data={"kind": "column", "name": col.name},
            )

    def on_tree_node_selected(self, event: Tree.NodeSelected) -> None:
        data = event.node.data or {}
        if data.get("kind") == "table":
            self.open_table(data["name"])

    def action_open(self) -> None:
        node = self.query_one(Tree).cursor_node
        data = (node.data or {}) if node else {}
        if data.get("kind") == "table":
            self.open_table(data["name"])
        elif node is not None:
            node.toggle()

    def open_table(self, ident: str) -> None:
        self._table = ident
        svc, actor = self.session.s, self.session.actor
        self.in_thread(
            lambda: (
                svc.catalog.table(actor, ident),
                svc.catalog.sample(actor, ident, SAMPLE_ROWS),
            ),
            self._show_table,
            group="table",
        )

    async def _show_table(self, result: Any) -> None:
        info, sample = result
        props = "  ".join(f"{k}={v}" for k, v in sorted(info.properties.items())) or "-"
        cols = "\n".join(f"  {c.field_id:>3}  {c.name:<24} {c.type}" for c in info.columns)
        # Everything but the labels is the table's own (names, properties): literal.
        self.query_one("#table-info", Static).update(
            f"[b]{literal(info.identifier)}[/b]  {literal(info.location)}\n"
            f"records {info.total_records}  files {info.data_files}  bytes {info.total_bytes}\n"
            f"partitioned by: {literal(', '.join(info.partition_spec) or '-')}  "
            f"sorted by: {literal(', '.join(info.sort_order) or '-')}\n{literal(cols)}\n"
            f"properties: {literal(props)}"
        )
        snaps = self.query_one("#snapshots", DataTable)
        snaps.clear()
        for s in reversed(info.snapshots):
            snaps.add_row(
                str(s.snapshot_id),
                str(s.parent_id or "-"),
                s.timestamp.strftime("%Y-%m-%d %H:%M:%S"),
                literal(s.operation or "-"),
                literal(s.summary.get("total-records", "-")),
                key=str(s.snapshot_id),
            )
        await self._show_sample(sample)

    async def _show_sample(self, sample: Any) -> None:
        await show_arrow(self, "sample", sample, max_column_content_width=40)

    def action_sample_snapshot(self) -> None:
        snaps = self.query_one("#snapshots", DataTable)
        if not self._table or snaps.row_count == 0:
            return
        key = snaps.coordinate_to_cell_key(snaps.cursor_coordinate).row_key.value
        if key is None:
            return
        snap = int(key)
        ident = self._table
        self.in_thread(
            lambda: self.session.s.catalog.sample(
                self.session.actor, ident, SAMPLE_ROWS, snapshot_id=snap
            ),
            self._show_sample,
            success=f"{ident} as of snapshot {snap}",
            group="table",
        )

    def action_insert(self) -> None:
        node = self.query_one(Tree).cursor_node
        data = (node.data or {}) if node else {}
        if data.get("name"):
            self.post_message(self.InsertName(data["name"]))

    def action_reload(self) -> None:
        self.reload()
