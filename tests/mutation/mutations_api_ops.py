"""Breakages of the engine's operations endpoints, log streaming and console-on-a-server
that tests/engine/api/ must catch, in the shared format of tests/mutation/run.py."""

from __future__ import annotations

OPS = "tests/engine/api/test_ops.py"
FOLLOW = "tests/engine/api/test_follow.py"
USERS = "tests/engine/api/test_console_os_users.py"

MUTATIONS: list[dict] = [
    {
        "name": "metrics: the run histograms never read the runs that moved",
        "path": "engine/api/ops.py",
        "old": "            self.observe_runs()\n",
        "new": "            pass\n",
        "tests": [f"{OPS}::test_runs_and_queue_move_while_runs_execute"],
    },
    {
        "name": "metrics: the queue depth is always 0",
        "path": "engine/api/ops.py",
        "old": "        depth = services.queue.queue_depth()",
        "new": "        depth = 0",
        "tests": [f"{OPS}::test_runs_and_queue_move_while_runs_execute"],
    },
    {
        "name": "metrics: a health result's label is its message (may name a host)",
        "path": "engine/api/ops.py",
        "old": "                result = _result(h.ok, h.error_kind)\n",
        "new": '                result = "ok" if h.ok else h.detail\n',
        "tests": [f"{OPS}::test_backend_health_by_kind_and_result_without_hosts_or_secrets"],
    },
    {
        "name": "follow: the lines logged while the run goes on are not sent",
        "path": "engine/api/server.py",
        "old": '                yield b"".join(line("chunk", c) for c in chunks)\n',
        "new": "                pass\n",
        "tests": [f"{FOLLOW}::test_follow_streams_lines_while_the_run_grows"],
    },
    {
        "name": "follow: Ctrl-C on a server follow cancels the run",
        "path": "engine/cli/run.py",
        "old": "        stream.close()\n",
        "new": "        stream.close()\n        services.runs.cancel(cli.actor, run_id)\n",
        "tests": [f"{FOLLOW}::test_ctrl_c_stops_following_and_leaves_the_run_alone"],
    },
    {
        "name": "API: every socket peer acts as the engine's own account",
        "path": "engine/api/server.py",
        "old": 'actor = Actor(peer.username, "socket", read_only=asked)',
        "new": 'actor = Actor(__import__("engine.context").context.os_username(), "socket",'
        " read_only=asked)",
        "tests": [f"{USERS}::test_the_console_as_two_os_accounts_each_with_its_role"],
    },
]
