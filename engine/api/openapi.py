"""The API's OpenAPI description, built from the allow-list and the verbs' signatures, so it
cannot drift from what is served."""

from __future__ import annotations

import inspect
import types
import typing
from typing import Any

from engine.api.codec import ERROR_STATUS
from engine.api.verbs import NO_ACTOR, VERBS

_ERROR = {"$ref": "#/components/schemas/Error"}


def schema_of(hint: Any) -> dict[str, Any]:
    """The JSON schema of a parameter's annotation, as far as plain JSON goes ({}: any value,
    e.g. a time, which travels tagged: codec.py)."""
    if hint is None or hint is type(None):
        return {"type": "null"}
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Union or origin is types.UnionType:
        parts = [schema_of(a) for a in args]
        return {} if {} in parts else {"anyOf": parts}
    if origin is typing.Literal:
        return {"enum": list(args)}
    simple = {str: "string", bool: "boolean", int: "integer", float: "number", dict: "object"}
    if hint in simple:
        return {"type": simple[hint]}
    if origin in (list, tuple, set, frozenset) or hint in (list, tuple):
        item = schema_of(args[0]) if args and (origin is not tuple or len(args) == 2) else {}
        return {"type": "array", "items": item} if item else {"type": "array"}
    if origin is dict:
        return {"type": "object"}
    return {}


def _parameters(fn: Any, takes_actor: bool) -> tuple[list[str], dict[str, Any]]:
    """(positional names, keyword properties) of a verb, without the actor."""
    from engine.api.argcheck import _hints

    hints = _hints(getattr(fn, "__func__", fn))
    params = list(inspect.signature(fn).parameters.values())
    if takes_actor:
        params = params[1:]
    positional = [p.name for p in params if p.kind is p.POSITIONAL_OR_KEYWORD]
    props = {
        p.name: {
            **schema_of(hints.get(p.name, Any)),
            "description": f"default {p.default!r}" if p.default is not p.empty else "required",
        }
        for p in params
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    }
    return positional, props


def _args_schema(positional: list[str], props: dict[str, Any]) -> dict[str, Any]:
    """The positional arguments: at most one per positional parameter, each its type."""
    if not positional:
        return {"type": "array", "maxItems": 0}
    items = [{k: v for k, v in props[n].items() if k != "description"} for n in positional]
    return {"type": "array", "prefixItems": items, "maxItems": len(positional)}


def describe(services: Any) -> dict[str, Any]:
    from engine import __version__

    paths: dict[str, Any] = {}
    statuses = sorted({str(s) for s in ERROR_STATUS.values()} | {"401"})
    for table, takes_actor in ((VERBS, True), (NO_ACTOR, False)):
        for service, verbs in sorted(table.items()):
            for verb in sorted(verbs):
                fn = getattr(getattr(services, service), verb)
                positional, props = _parameters(fn, takes_actor)
                doc = inspect.getdoc(fn) or ""
                paths[f"/v1/{service}/{verb}"] = {
                    "post": {
                        "operationId": f"{service}.{verb}",
                        "summary": doc.splitlines()[0] if doc else f"{service}.{verb}",
                        "description": f"positional args, in order: {positional}",
                        "requestBody": {
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "properties": {
                                            "args": _args_schema(positional, props),
                                            "kwargs": {"type": "object", "properties": props},
                                        },
                                    }
                                }
                            }
                        },
                        "responses": {
                            "200": {
                                "description": "the verb's result, tagged JSON (codec.py)",
                                "content": {"application/json": {"schema": {"type": "object"}}},
                            },
                            **{
                                s: {
                                    "description": "an engine error: its class and message",
                                    "content": {"application/json": {"schema": _ERROR}},
                                }
                                for s in statuses
                            },
                        },
                    }
                }
    paths["/v1/sql/execute"] = {
        "post": {
            "operationId": "sql.execute",
            "summary": "Run a statement; the rows as an Arrow IPC stream",
            "responses": {
                "200": {
                    "description": "rows",
                    "content": {"application/vnd.apache.arrow.stream": {}},
                }
            },
        }
    }
    login_answers = {
        "200": {
            "description": "a short-lived bearer token (login_token_s), shown this once",
            "content": {"application/json": {"schema": {"type": "object"}}},
        },
        **{
            s: {
                "description": "refused: bad input, wrong or unknown user, locked, no logins",
                "content": {"application/json": {"schema": _ERROR}},
            }
            for s in ("400", "401", "403")
        },
    }
    paths["/v1/login"] = {
        "get": {
            "operationId": "login.offered",
            "summary": 'Whether this engine takes password logins (auth = "password")',
            "security": [],
            "responses": {"200": {"description": "auth and the token lifetime"}},
        },
        "post": {
            "operationId": "login",
            "summary": "Log in with a password; a short-lived token",
            "security": [],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["username", "password"],
                            "properties": {
                                "username": {"type": "string"},
                                "password": {"type": "string", "format": "password"},
                            },
                            "additionalProperties": False,
                        }
                    }
                },
            },
            "responses": login_answers,
        },
    }
    paths["/v1/runs/follow"] = {
        "post": {
            "operationId": "runs.follow",
            "summary": "A run's log as it grows, until the run ends (JSON lines)",
            "responses": {
                "200": {
                    "description": '{"chunk": LogChunk} lines, then {"run": RunView}',
                    "content": {"application/x-ndjson": {}},
                }
            },
        }
    }
    for path, what in (
        ("/healthz", "the engine's loops go round"),
        ("/readyz", "database reachable, schema current, lease"),
        ("/metrics", "Prometheus text"),
    ):
        answers = {"200": {"description": "yes"}, "503": {"description": "no"}}
        paths[path] = {"get": {"summary": what, "responses": answers}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Sadeem engine API", "version": __version__},
        "paths": paths,
        "components": {
            "schemas": {
                "Error": {
                    "type": "object",
                    "properties": {
                        "error": {
                            "type": "object",
                            "properties": {
                                "class": {"type": "string"},
                                "message": {"type": "string"},
                            },
                        }
                    },
                }
            },
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }
