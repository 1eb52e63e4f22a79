"""What a client may call: the service verbs the console and the CLI use, by name.

An allow-list on purpose: the services also hold the runner's verbs (queue.claim,
queue.finish, engine_state.acquire_lease, ...) that trust their caller, and a new service
method is not reachable from a socket until someone adds it here. Every verb listed takes
the acting user first; the server puts the peer's identity there, never the client."""

from __future__ import annotations

VERBS: dict[str, frozenset[str]] = {
    "workspaces": frozenset(
        {"create", "list", "get", "update", "archive", "members", "add_member", "remove_member"}
    ),
    "provisioning": frozenset({"plan", "apply"}),
    "separation": frozenset({"check"}),
    "connections": frozenset({"create", "update", "delete", "list", "get"}),
    "health": frozenset({"test", "check_all"}),
    "users": frozenset({"create", "update", "set_password", "list", "get", "whoami", "role_in"}),
    "audit": frozenset({"list"}),
    "catalog": frozenset(
        {"namespaces", "tables", "table", "sample", "columns", "listing", "namespace_listing"}
    ),
    "sql": frozenset({"history", "warm"}),  # execute, script: routes of their own
    "jobs": frozenset({"create", "edit", "pause", "get", "list", "versions"}),
    "runs": frozenset({"trigger", "list", "get", "logs", "cancel", "retry"}),
    "tokens": frozenset({"create", "list", "revoke"}),  # never authenticate: the server's
}

# Verbs without an acting user: operational counts any registered user may see (the same
# as `sadeem engine status` embedded, which checks no role either).
NO_ACTOR: dict[str, frozenset[str]] = {
    "engine_state": frozenset({"status"}),
    "health": frozenset({"embedded"}),
}


def allowed(service: str, verb: str) -> bool | None:
    """True: takes the actor first; False: takes none; None: not callable from outside."""
    if verb in VERBS.get(service, ()):
        return True
    if verb in NO_ACTOR.get(service, ()):
        return False
    return None
