"""What the console keeps for the operator between sessions, one file per user in the data
dir: the editor tabs, and the theme chosen last (ctrl+p "theme")."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

MAX_TABS = 12
# Tabs and theme are saved from different workers into one file: one writer at a time, each
# rewriting the file with the other's part as it is.
_WRITING = threading.Lock()


def state_file(data_dir: Path, username: str) -> Path:
    return Path(data_dir) / "console" / f"{username}.json"


def _load(data_dir: Path | None, username: str) -> dict[str, Any]:
    if data_dir is None:  # no data dir (a test's console): nothing is kept
        return {}
    try:
        data = json.loads(state_file(data_dir, username).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _save(data_dir: Path | None, username: str, **changes: Any) -> None:
    if data_dir is None:
        return
    with _WRITING:
        data = {**_load(data_dir, username), **changes}
        path = state_file(data_dir, username)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data))
        tmp.replace(path)


def load_tabs(data_dir: Path | None, username: str) -> list[str]:
    tabs = [str(t) for t in _load(data_dir, username).get("tabs", [])][:MAX_TABS]
    return tabs or [""]


def save_tabs(data_dir: Path | None, username: str, tabs: list[str]) -> None:
    _save(data_dir, username, tabs=tabs[:MAX_TABS])


def load_theme(data_dir: Path | None, username: str) -> str | None:
    """The theme saved last, None if there is none (the app checks that it still exists)."""
    theme = _load(data_dir, username).get("theme")
    return theme if isinstance(theme, str) else None


def save_theme(data_dir: Path | None, username: str, theme: str) -> None:
    _save(data_dir, username, theme=theme)
