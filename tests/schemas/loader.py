"""JSON schemas the tests keep for custom resources (written from the documented APIs)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent


def load_schema(name: str) -> dict[str, Any]:
    return json.loads((HERE / f"{name}.json").read_text())


def validate(instance: dict[str, Any], name: str) -> None:
    """Raise jsonschema.ValidationError when `instance` breaks the schema."""
    import jsonschema

    jsonschema.validate(instance, load_schema(name))
