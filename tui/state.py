"""Editor tabs that survive a restart, one file per user in the data dir."""

from __future__ import annotations

import json
from pathlib import Path

MAX_TABS = 12


def state_file(data_dir: Path, username: str) -> Path:
    return Path(data_dir) / "console" / f"{username}.json"


def load_tabs(data_dir: Path, username: str) -> list[str]:
    try:
        data = json.loads(state_file(data_dir, username).read_text())
        tabs = [str(t) for t in data.get("tabs", [])][:MAX_TABS]
        return tabs or [""]
    except (OSError, ValueError):
        return [""]


def save_tabs(data_dir: Path, username: str, tabs: list[str]) -> None:
    path = state_file(data_dir, username)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"tabs": tabs[:MAX_TABS]}))
    tmp.replace(path)
