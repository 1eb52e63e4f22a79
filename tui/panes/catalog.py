"""Catalog tree: namespaces -> tables -> columns, loaded lazily; a table's schema,
partitioning, properties, snapshots (pick one to sample the table as of it) and rows."""

from __future__ import annotations

from typing import Any

from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Static, Tree

from tui.panes.base import Pane
from tui.widgets.grid import GridPlaceholder, show_arrow

SAMPLE_ROWS = 200


class CatalogPane(Pane):
    TITLE = "Catalog"
    KEY = "catalog"
    BINDINGS = [
        Binding("enter", "open", "Open"),
        Binding("i", "insert", "Insert name into SQL"),
        Binding("s", "sample_snapshot", "Rows as of snapshot"),
        Binding("r", "reload", "Reload"),
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._table: str | None = None
        self._filter = ""

    def compose(self):  # type: ignore[no-untyped-def]
        yield Static(self.TITLE, classes="pane-title")
        with Horizontal():
            tree: Tree[dict] = Tree("catalog", id="catalog-tree")
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

    def load(self) -> Any:
        ws = self.ctx.workspace
        return self.ctx.s.catalog.namespaces(self.ctx.actor, ws) if ws else []

    def show(self, data: Any) -> None:
        tree = self.query_one(Tree)
        tree.clear()
        for ns in data:
            if self._filter and self._filter not in ns:
                continue
            tree.root.add(ns, data={"kind": "namespace", "name": ns}, allow_expand=True)
        tree.root.expand()

    def apply_filter(self, text: str) -> None:
        self._filter = text
        self.reload()

    def on_tree_node_expanded(self, event: Tree.NodeExpanded) -> None:
        node = event.node
        data = node.data or {}
        if node.children or data.get("kind") not in ("namespace", "table"):
            return
        if data["kind"] == "namespace":
            self.in_thread(
                lambda: self.ctx.s.catalog.tables(self.ctx.actor, data["name"]),
                lambda tables: self._add_tables(node, data["name"], tables),
            )
        else:
            self.in_thread(
                lambda: self.ctx.s.catalog.table(self.ctx.actor, data["name"]),
                lambda info: self._add_columns(node, info),
            )

    def _add_tables(self, node: Any, namespace: str, tables: list[str]) -> None:
        for table in tables:
            node.add(
                table, data={"kind": "table", "name": f"{namespace}.{table}"}, allow_expand=True
            )

    def _add_columns(self, node: Any, info: Any) -> None:
        for col in info.columns:
            node.add_leaf(
                f"{col.name}  [dim]{col.type}[/dim]", data={"kind": "column", "name": col.name}
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
        svc, actor = self.ctx.s, self.ctx.actor
        self.in_thread(
            lambda: (
                svc.catalog.table(actor, ident),
                svc.catalog.sample(actor, ident, SAMPLE_ROWS),
            ),
            self._show_table,
        )

    async def _show_table(self, result: Any) -> None:
        info, sample = result
        props = "  ".join(f"{k}={v}" for k, v in sorted(info.properties.items())) or "-"
        cols = "\n".join(f"  {c.field_id:>3}  {c.name:<24} {c.type}" for c in info.columns)
        self.query_one("#table-info", Static).update(
            f"[b]{info.identifier}[/b]  {info.location}\n"
            f"records {info.total_records}  files {info.data_files}  bytes {info.total_bytes}\n"
            f"partitioned by: {', '.join(info.partition_spec) or '-'}  "
            f"sorted by: {', '.join(info.sort_order) or '-'}\n{cols}\nproperties: {props}"
        )
        snaps = self.query_one("#snapshots", DataTable)
        snaps.clear()
        for s in reversed(info.snapshots):
            snaps.add_row(
                str(s.snapshot_id),
                str(s.parent_id or "-"),
                s.timestamp.strftime("%Y-%m-%d %H:%M:%S"),
                s.operation or "-",
                s.summary.get("total-records", "-"),
                key=str(s.snapshot_id),
            )
        await self._show_sample(sample)

    async def _show_sample(self, sample: Any) -> None:
        await show_arrow(self, "sample", sample, max_column_content_width=40)

    def action_sample_snapshot(self) -> None:
        snaps = self.query_one("#snapshots", DataTable)
        if not self._table or snaps.row_count == 0:
            return
        snap = int(snaps.coordinate_to_cell_key(snaps.cursor_coordinate).row_key.value)
        ident = self._table
        self.in_thread(
            lambda: self.ctx.s.catalog.sample(self.ctx.actor, ident, SAMPLE_ROWS, snapshot_id=snap),
            self._show_sample,
            success=f"{ident} as of snapshot {snap}",
        )

    def action_insert(self) -> None:
        node = self.query_one(Tree).cursor_node
        data = (node.data or {}) if node else {}
        if data.get("name"):
            self.app.insert_into_editor(data["name"])  # type: ignore[attr-defined]

    def action_reload(self) -> None:
        self.reload()
