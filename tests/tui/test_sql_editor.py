"""The SQL editor widget: a whole-text load keeps the prepared highlight query and still
behaves as TextArea.load_text does (new text, highlighted, nothing to undo, cursor on top)."""

from __future__ import annotations

from textual.app import App, ComposeResult

from tui.widgets.sql_editor import SqlEditor


class Host(App[None]):
    def compose(self) -> ComposeResult:
        yield SqlEditor.code_editor("SELECT 1", language="sql", id="editor")


def keyword_highlighted(editor: SqlEditor, row: int) -> bool:
    return any(name == "keyword" for _s, _e, name in editor._highlights[row])


async def test_loading_text_keeps_the_highlight_query_and_leaves_nothing_to_undo():
    app = Host()
    async with app.run_test(size=(60, 10)) as pilot:
        editor = app.query_one(SqlEditor)
        prepared = editor._highlight_query
        assert prepared is not None
        editor.text = "-- second tab\nSELECT a\nFROM t"
        await pilot.pause()
        assert editor.text == "-- second tab\nSELECT a\nFROM t"
        assert editor._highlight_query is prepared  # not prepared again
        assert keyword_highlighted(editor, 1)  # the new text is parsed and highlighted
        assert editor.cursor_location == (0, 0)
        editor.undo()
        assert editor.text == "-- second tab\nSELECT a\nFROM t"  # a load is not an edit
        editor.text = ""
        assert editor.text == "" and editor._highlight_query is prepared


async def test_a_plain_editor_loads_text_as_textarea_does():
    app = Host()
    async with app.run_test(size=(60, 10)) as pilot:
        editor = app.query_one(SqlEditor)
        editor.language = None
        editor.text = "SELECT 2"
        await pilot.pause()
        assert editor.text == "SELECT 2" and editor._highlight_query is None
        editor.language = "sql"  # the pane turns highlighting on once its tabs are in
        assert editor._highlight_query is not None and keyword_highlighted(editor, 0)
