"""Breakages of the engine's API (engine/api/, engine/client.py, tokens) that the shared-site
tests (tests/engine/api/) must catch, in the shared format of tests/mutation/run.py."""

from __future__ import annotations

SOCKET = "tests/engine/api/test_socket.py"
HTTP = "tests/engine/api/test_http.py"
LOCAL = "tests/engine/api/test_client_local.py"
LOGIN = "tests/engine/api/test_https_login.py"
FUZZ = "tests/engine/api/test_schema_fuzz.py"
READY = "tests/engine/api/test_readyz.py"

MUTATIONS: list[dict] = [
    {
        "name": "API: the acting user is taken from a request header",
        "path": "engine/api/server.py",
        "old": 'actor = Actor(peer.username, "socket", read_only=asked)',
        "new": 'actor = Actor(request.headers.get("x-sadeem-user") or peer.username, "socket",'
        " read_only=asked)",
        "tests": [f"{SOCKET}::test_a_forged_identity_is_ignored"],
    },
    {
        "name": "API: socket calls are audited as cli",
        "path": "engine/api/server.py",
        "old": 'actor = Actor(peer.username, "socket", read_only=asked)',
        "new": 'actor = Actor(peer.username, "cli", read_only=asked)',
        "tests": [f"{SOCKET}::test_each_os_account_acts_as_itself_with_its_role"],
    },
    {
        "name": "API: every service method is callable (no allow-list)",
        "path": "engine/api/verbs.py",
        "old": "    if verb in VERBS.get(service, ()):",
        "new": "    if True:",
        "tests": [f"{SOCKET}::test_runner_verbs_are_not_reachable"],
    },
    {
        "name": "client: --server is ignored and the CLI opens a database",
        "path": "engine/cli/runtime.py",
        "old": "return bool(self.settings.server) and not",
        "new": "return False and not",
        "tests": [f"{SOCKET}::test_the_client_never_opens_the_database", LOCAL],
    },
    {
        "name": "client: every engine error comes back as a plain SadeemError (exit 1)",
        "path": "engine/api/codec.py",
        "old": '    cls = _ERRORS.get(str(info.get("class")), errors.SadeemError)',
        "new": "    cls = errors.SadeemError",
        "tests": [f"{SOCKET}::test_errors_keep_their_exit_codes"],
    },
    {
        "name": "API: a client going away does not stop its query",
        "path": "engine/api/server.py",
        "old": "        await anyio.to_thread.run_sync(query.cancel)  # fetch",
        "new": "        await anyio.sleep(1e9)  # fetch",
        "tests": [f"{SOCKET}::test_ctrl_c_stops_the_query_on_the_engine"],
    },
    {
        "name": "tokens: an expired token is accepted",
        "path": "engine/services/tokens.py",
        "old": "elif row.expires_at is not None and row.expires_at <= now:",
        "new": "elif False:",
        "tests": [f"{HTTP}::test_token_statuses_and_their_audit_events"],
    },
    {
        "name": "tokens: a read-only token writes",
        "path": "engine/services/tokens.py",
        "old": "read_only=row.read_only,",
        "new": "read_only=False,",
        "tests": [f"{HTTP}::test_token_statuses_and_their_audit_events"],
    },
    {
        "name": "tokens: stored in the clear",
        "path": "engine/services/tokens.py",
        "old": "token_hash=digest(token),",
        "new": "token_hash=token[:64],",
        "tests": [f"{HTTP}::test_tokens_are_stored_hashed"],
    },
    {
        "name": "API: /healthz is always healthy",
        "path": "engine/api/ops.py",
        "old": "        stuck = [n for n, age in loops.items() if age is None or age > limit]",
        "new": "        stuck: list[str] = []",
        "tests": [f"{HTTP}::test_healthz_fails_when_the_loops_stop"],
    },
    {
        "name": "console: on a server it starts an embedded engine of its own",
        "path": "tui/main.py",
        "old": "            return services, None\n",
        "new": "            pass\n",
        "tests": ["tests/engine/api/test_console_remote.py::test_console_against_the_server"],
    },
    {
        "name": "client: an unreachable engine is an internal error",
        "path": "engine/client.py",
        "old": "            raise self.unreachable(exc) from None\n        self.check(response)",
        "new": "            raise\n        self.check(response)",
        "tests": [LOCAL],
    },
    {
        "name": "login: the token of a password login never expires",
        "path": "engine/api/server.py",
        "old": "                expires_in_s=settings.login_token_s,",
        "new": "                expires_in_s=None,",
        "tests": [f"{LOGIN}::test_login_writes_a_short_lived_token_0600_that_the_cli_then_uses"],
    },
    {
        "name": "login: the token file is written with the umask's mode",
        "path": "engine/client.py",
        "old": "            os.replace(tmp, path)",
        "new": "            os.chmod(tmp, 0o644)\n            os.replace(tmp, path)",
        "tests": [f"{LOGIN}::test_login_writes_a_short_lived_token_0600_that_the_cli_then_uses"],
    },
    {
        "name": "login: an auth = 'os' engine takes password logins",
        "path": "engine/api/server.py",
        "old": '        offered = settings.auth == "password"',
        "new": "        offered = True",
        "tests": [f"{LOGIN}::test_login_on_an_os_auth_server_is_refused_before_any_password"],
    },
    {
        "name": "client: a certificate no trusted CA signed is accepted",
        "path": "engine/client.py",
        "old": "    verify: ssl.SSLContext | bool = True",
        "new": "    verify: ssl.SSLContext | bool = False",
        "tests": [f"{LOGIN}::test_the_client_trusts_only_the_configured_ca"],
    },
    {
        "name": "API: arguments reach the verb unchecked",
        "path": "engine/api/server.py",
        "old": "    check(fn, bound)\n",
        "new": "    pass\n",
        "tests": [f"{FUZZ}::test_a_value_of_the_wrong_type_is_a_400_naming_the_parameter"],
    },
    {
        "name": "API: /readyz says this engine holds the lease whoever does",
        "path": "engine/api/ops.py",
        "old": '        held = engine_id is not None and lease["holder"] == engine_id',
        "new": "        held = engine_id is not None",
        "tests": [f"{READY}::test_readyz_reports_who_holds_the_lease_and_whether_this_engine_does"],
    },
]
