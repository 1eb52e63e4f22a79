"""Completion and the catalog tree over 2,000 tables (issue 17, item 7): every name listed
without one table's metadata read; columns read when a table is completed or expanded; a
table created meanwhile shows on the next load. Real engine, real embedded catalog."""

from __future__ import annotations

import pyarrow as pa
import pytest
from textual.widgets import TextArea, Tree

from tests.engine.test_catalog_listing import _register_many
from tests.tui.conftest import ANA
from tests.tui.drive import SIZE, started, wait_until

WIDE = 2000


@pytest.fixture
def wide(services):
    """demo_gold with 2,000 more tables (wide_0000 ...), and a table of another workspace."""
    names = _register_many(services, "demo_gold", WIDE, prefix="wide_")
    services.workspaces.create(ANA, "other")
    services.provisioning.apply(ANA, "other")
    services.lakehouse.embedded_catalog().create_table(
        "other_gold.secret", pa.schema([pa.field("y", pa.int64())])
    )
    return [f"demo_gold.{n}" for n in names]


@pytest.fixture
def loads(services, wide, monkeypatch):
    """Each table whose metadata the console reads (the real catalog's load_table)."""
    cat = services.lakehouse.embedded_catalog().pyiceberg_catalog()
    calls: list[str] = []
    real = cat.load_table

    def counted(identifier, *args, **kwargs):
        calls.append(".".join(identifier))
        return real(identifier, *args, **kwargs)

    monkeypatch.setattr(cat, "load_table", counted)
    return calls


async def test_completion_lists_every_table_and_reads_only_the_completed_ones(
    make_app, wide, loads
):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        await pilot.press("3")
        pane = app.query_one("#sql")
        editor = app.query_one("#editor", TextArea)
        editor.text = "SELECT * FROM demo_gold.top"
        editor.focus()
        editor.move_cursor(editor.document.end)
        loads.clear()
        await pilot.press("ctrl+space")  # the listing, then the word completed
        await wait_until(pilot, lambda: editor.text == "SELECT * FROM demo_gold.top_meters")
        names = pane._names[1]
        assert set(wide) <= set(names)  # all 2,000, names right
        assert not any(n.startswith("other_") for n in names)  # never another workspace's
        assert not any(t.startswith("demo_gold.wide_") for t in loads)  # none of them read
        editor.insert(" WHERE meter_")
        await pilot.press("ctrl+space")  # the completed table's columns
        await wait_until(pilot, lambda: editor.text.endswith("WHERE meter_id"))
        assert set(loads) == {"demo_gold.top_meters"}
        # A table named by hand has its columns read when a word is completed after it.
        editor.text = f"SELECT wide_x FROM {wide[7]} WHERE "
        editor.move_cursor(editor.document.end)
        editor.insert("x")
        await pilot.press("ctrl+space")
        await wait_until(pilot, lambda: wide[7] in pane._columns)
        assert pane._columns[wide[7]] == ["x"]
        assert set(loads) == {"demo_gold.top_meters", wide[7]}


async def test_tree_lists_2000_tables_reads_columns_on_expand_and_shows_a_new_table(
    make_app, services, wide, loads
):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        await pilot.press("2")
        tree = app.query_one(Tree)
        await wait_until(pilot, lambda: len(tree.root.children) == 3)
        gold = tree.root.children[2]
        gold.expand()
        await wait_until(pilot, lambda: len(gold.children) == WIDE + 2)
        labels = [str(n.label) for n in gold.children]
        assert labels == sorted(["daily_consumption", "top_meters", *(w[10:] for w in wide)])
        assert loads == []  # 2,002 tables listed, none read
        table = next(n for n in gold.children if str(n.label) == "wide_0042")
        table.expand()
        await wait_until(pilot, lambda: len(table.children) == 1)
        assert str(table.children[0].label).startswith("x")
        assert loads == ["demo_gold.wide_0042"]
        services.lakehouse.embedded_catalog().create_table(
            "demo_gold.zz_fresh", pa.schema([pa.field("z", pa.int64())])
        )
        await pilot.press("r")  # reload: the namespaces listed again
        await wait_until(
            pilot, lambda: len(tree.root.children) == 3 and tree.root.children[2] is not gold
        )
        gold = tree.root.children[2]
        gold.expand()
        await wait_until(pilot, lambda: len(gold.children) == WIDE + 3)
        assert str(gold.children[-1].label) == "zz_fresh"
