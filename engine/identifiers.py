"""Names that reach SQL, URLs and storage paths: validated once, here."""

from __future__ import annotations

import re

from engine.errors import ValidationError

IDENTIFIER = re.compile(r"[a-z][a-z0-9_]{0,62}")
IDENTIFIER_RULE = (
    "must start with a lowercase letter and contain only lowercase letters, digits and "
    "underscores, at most 63 characters"
)
USERNAME = re.compile(r"[a-z_][a-z0-9_.-]{0,63}")


def check_identifier(value: object, field: str = "name") -> str:
    """Return the name if it matches [a-z][a-z0-9_]{0,62}, else raise a clear ValidationError."""
    if not isinstance(value, str) or not IDENTIFIER.fullmatch(value):
        raise ValidationError(f"{value!r} is not a valid name: it {IDENTIFIER_RULE}", field=field)
    return value


def check_username(value: object, field: str = "username") -> str:
    if not isinstance(value, str) or not USERNAME.fullmatch(value):
        raise ValidationError(
            f"{value!r} is not a valid user name: lowercase letters, digits, '_', '.', '-'",
            field=field,
        )
    return value
