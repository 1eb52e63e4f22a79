"""Engine mutations: each breaks one README promise that once broke without a failing test
(issue 12). `python3 tests/mutation/run.py` applies them one at a time."""

SEPARATION = "engine/services/separation.py"
RUNS = "engine/services/run_queue.py"  # the engine side of runs: claims and outcomes
SQL_JOBS = "engine/runner/sql_executor.py"

T_SEPARATION = ["tests/engine/test_separation.py"]
T_SQL_JOBS = "tests/engine/runner/test_sql_jobs.py"
T_CLAIMS = "tests/engine/runner/test_claim_limits.py"
T_ROLES = "tests/engine/runner/test_runner_roles.py"

MUTATIONS = [
    {
        "name": "separation-job-crossing-off",
        "path": SEPARATION,
        "old": "if refusal is not None:",
        "new": "if False:",
        "tests": T_SEPARATION,
    },
    {
        "name": "separation-shared-job-connection-off",
        "path": SEPARATION,
        "old": "if conn and conn.workspace_id not in (None, job.workspace_id):",
        "new": "if False:",
        "tests": T_SEPARATION,
    },
    {
        "name": "separation-shared-default-connection-off",
        "path": SEPARATION,
        "old": "if conn and conn.workspace_id not in (None, ws_id):",
        "new": "if False:",
        "tests": T_SEPARATION,
    },
    {
        "name": "separation-foreign-namespace-off",
        "path": SEPARATION,
        "old": "if owner not in (None, ws.name):",
        "new": "if False:",
        "tests": T_SEPARATION,
    },
    {
        "name": "catchup-latest-fires-all",
        "path": "engine/runner/scheduler.py",
        "old": "return times[-1:]",
        "new": "return times",
        "tests": ["tests/engine/runner/test_catchup.py"],
    },
    {
        "name": "retry-backoff-not-exponential",
        "path": RUNS,
        "old": "job.retry_backoff_seconds * 2 ** (run.attempt - 1),",
        "new": "job.retry_backoff_seconds * run.attempt,",
        "tests": ["tests/engine/runner/test_retry_backoff.py"],
    },
    {
        "name": "retry-backoff-not-capped",
        "path": RUNS,
        "old": "                    job.retry_backoff_max_seconds,\n",
        "new": "                    10**9,\n",
        "tests": ["tests/engine/runner/test_retry_backoff.py"],
    },
    {
        "name": "target-table-modes-swapped",
        "path": SQL_JOBS,
        "old": 'if d.get("mode") == "overwrite":',
        "new": 'if d.get("mode") != "overwrite":',
        "tests": [f"{T_SQL_JOBS}::test_overwrite_replaces_and_append_appends"],
    },
    {
        "name": "run-id-rendered-as-0",
        "path": SQL_JOBS,
        "old": '"run_id": rc.run_id}',
        "new": '"run_id": 0}',
        "tests": [f"{T_SQL_JOBS}::test_run_id_renders_the_runs_own_id"],
    },
    {
        "name": "runner-cross-workspace-refusal-off",
        "path": SQL_JOBS,
        "old": "    check_statements(services, rc, statements)",
        "new": "    pass",
        "tests": [f"{T_SQL_JOBS}::test_a_job_touching_another_workspace_is_refused"],
    },
    {
        "name": "role-job-create-viewer",
        "path": "engine/services/base.py",
        "old": '"job.create": "editor",',
        "new": '"job.create": "viewer",',
        "tests": [f"{T_ROLES}::test_runner_role_matrix"],
    },
    {
        "name": "role-run-cancel-viewer",
        "path": "engine/services/base.py",
        "old": '"run.cancel": "runner",',
        "new": '"run.cancel": "viewer",',
        "tests": [f"{T_ROLES}::test_runner_role_matrix"],
    },
    {
        "name": "claim-job-limit-ignored",
        "path": RUNS,
        "old": "if busy_job.get(job_id, 0) >= job_limit:",
        "new": "if False:",
        "tests": [f"{T_CLAIMS}::test_the_job_limit_holds"],
    },
    {
        "name": "claim-workspace-limit-ignored",
        "path": RUNS,
        "old": "if busy_ws.get(ws_id, 0) >= workspace_limit:",
        "new": "if False:",
        "tests": [f"{T_CLAIMS}::test_the_workspace_limit_holds"],
    },
    {
        "name": "claim-global-limit-ignored",
        "path": RUNS,
        "old": "if len(picked) >= slots:",
        "new": "if False:",
        "tests": [f"{T_CLAIMS}::test_the_global_limit_holds"],
    },
    {
        "name": "results-first-rows-changed",
        "path": "tui/panes/sql.py",
        "old": "FIRST_ROWS = 10_000",
        "new": "FIRST_ROWS = 5_000",
        "tests": [
            "tests/tui/test_console.py::"
            "test_a_slow_result_shows_its_first_rows_while_the_rest_is_fetched"
        ],
    },
    {
        "name": "results-cap-changed",
        "path": "tui/panes/sql.py",
        "old": "MAX_ROWS = 1_000_000",
        "new": "MAX_ROWS = 2_000_000",
        "tests": ["tests/tui/test_console.py::test_a_result_stops_at_a_million_rows"],
    },
    {
        # A CLI command that crashes before printing: the secrets scan once passed on it.
        "name": "cli-audit-list-crashes-early",
        "path": "engine/cli/audit.py",
        "old": "a = cli.args",
        "new": "a = cli.no_such_attribute",
        "tests": ["tests/engine/test_secrets.py::test_cli_output_never_shows_secrets"],
    },
]
