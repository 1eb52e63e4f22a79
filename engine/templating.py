"""Job SQL templates: `{{ workspace }}`, `{{ ds }}`, `{{ run_id }}` and `{{ params.x }}`.

Deliberately tiny (no expressions, no filters): a template either names a known variable
or is refused with the variable's name, before anything runs.
"""

from __future__ import annotations

import re
from typing import Any

from engine.errors import ValidationError

_VAR = re.compile(r"\{\{\s*([a-zA-Z_][a-zA-Z0-9_.]*)\s*\}\}")


def variables(text: str) -> set[str]:
    return set(_VAR.findall(text))


def render(text: str, values: dict[str, Any], params: dict[str, Any] | None = None) -> str:
    """Substitute every `{{ name }}`; unknown names raise ValidationError naming them."""
    params = params or {}

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("params."):
            key = name[len("params.") :]
            if key not in params:
                raise ValidationError(
                    f"the template uses {{{{ {name} }}}} but the run has no parameter {key!r}",
                    field="params",
                )
            return str(params[key])
        if name not in values:
            known = ", ".join(sorted(values)) + ", params.NAME"
            raise ValidationError(
                f"unknown template variable {name!r}; known: {known}", field="sql"
            )
        return str(values[name])

    return _VAR.sub(value, text)
