"""The registry of job kinds: each kind's module in this package declares it here, once.

A kind is everything Sadeem knows about one type of job: the connection role it runs on,
its definition's fields (how the console's form and the CLI's flags show them), how a
definition is checked, which SQL of it the save-time and separation checks judge, and the
executor that runs it. The job service's validation and connection choice, the
dispatcher, the reconciler, `sadeem job create|edit` and the console's job form all read
this registry, so a new kind is one module that calls `register(...)` (its executor, and
its tests), nothing else. The shape imitates engine.backends.kinds.

The modules of this package are imported on the first look-up, in name order (each one
that declares a kind registers it). They stay light, because `sadeem --help` and the
console read them: what a check needs beyond the standard library is imported inside the
check, and an executor is named by its import path, loaded by the runner at its first
run, never by the CLI or the console.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from engine.errors import ValidationError
from engine.registry import Registry

if TYPE_CHECKING:
    from engine.backends.kinds import Role
    from engine.runner.context import Outcome, RunContext

    # (services, the run's context, every layer namespace -> its workspace) -> its outcome
    Executor = Callable[[Any, RunContext, dict[str, str]], Outcome]

# How a field's value is typed in the form and given to the CLI:
#   text: one line; multiline: a text area (and a --FLAG-file option when declared);
#   int: a whole number; words: a list of strings, shell words in the form, the flag
#   repeated on the CLI; mapping: key=value pairs, the flag repeated on the CLI.
Shape = Literal["text", "multiline", "int", "words", "mapping"]

# Keys every kind's definition takes: typed parameters with defaults ({{ params.NAME }}).
COMMON_KEYS = frozenset({"params", "param_types"})


@dataclass(frozen=True)
class JobField:
    """One key of a kind's definition."""

    name: str
    label: str = ""  # the console form's label
    shape: Shape = "text"
    help: str | None = None  # the CLI flag's help
    required: bool = False
    missing: str = ""  # the message when a required field is missing or empty
    default: Any = None  # what a new job's form shows (the kind's check applies its own)
    flag: str | None = ""  # the CLI option without `--`; "" = the name with dashes; None: none
    file_help: str = ""  # multiline: the help of a `--FLAG-file PATH` option; "": none
    choices: tuple[str, ...] = ()  # the CLI refuses anything else
    minimum: int = 1  # int: the CLI's lower bound
    metavar: str | None = None
    in_form: bool = True

    @property
    def option(self) -> str | None:
        """The CLI option (`--app-file`), or None when the CLI does not set this field."""
        if self.flag is None:
            return None
        return "--" + (self.flag or self.name.replace("_", "-"))


@dataclass(frozen=True)
class JobKind:
    """A job type, declared once by its module in this package."""

    name: str
    # The role of the connections it runs on (engine.backends.kinds.Role): a named
    # connection must be of a kind of that role.
    connection_role: Role
    fields: tuple[JobField, ...]
    # "module:function" of its Executor, imported when a run of this kind first starts.
    executor: str
    summary: str = ""
    # Normalises a definition in place (a copy, `params` set and checked) or raises a
    # ValidationError naming the field. Unknown and missing required keys are refused
    # before it is called.
    check: Callable[[dict[str, Any]], None] | None = None
    # Without a connection it runs on the workspace's default; True: it needs one.
    connection_required: bool = False
    connection_label: str = ""  # the console form's connection field
    # (definition, workspace) -> the SQL statements it would run, as the runner builds
    # them: what the save-time check and the separation rule judge. None: it sends no SQL.
    statements: Callable[[dict[str, Any], str], list[str]] | None = None

    def __post_init__(self) -> None:
        names = [f.name for f in self.fields]
        if len(set(names)) != len(names):
            raise ValueError(f"job kind {self.name}: a field is declared twice")
        if COMMON_KEYS & set(names):
            raise ValueError(f"job kind {self.name}: params and param_types are every kind's")
        if ":" not in self.executor:
            raise ValueError(f"job kind {self.name}: executor is module:function")

    @property
    def keys(self) -> frozenset[str]:
        """Every key its definition may have."""
        return frozenset(f.name for f in self.fields) | COMMON_KEYS

    def load_executor(self) -> Executor:
        """The executor, imported now (the runner's first run of this kind)."""
        module, _, name = self.executor.partition(":")
        fn: Executor = getattr(importlib.import_module(module), name)
        return fn


def _kind_modules() -> list[str]:
    """Every module of this package: one that declares a kind calls `register` when
    imported, so a new kind is picked up by being there."""
    return [f"{__name__}.{m.name}" for m in pkgutil.iter_modules(__path__) if not m.ispkg]


REGISTRY: Registry[JobKind] = Registry("job kind", _kind_modules)
register = REGISTRY.register
unregister = REGISTRY.unregister
kinds = REGISTRY.all
find = REGISTRY.find


def names() -> tuple[str, ...]:
    """The kinds' names, in registration order."""
    return tuple(kinds())


def job_kind(name: str) -> JobKind:
    """The registered kind of that name; a ValidationError on `type` naming them otherwise."""
    kind = find(name)
    if kind is None:
        raise ValidationError(f"must be one of {', '.join(names())}", field="type")
    return kind
