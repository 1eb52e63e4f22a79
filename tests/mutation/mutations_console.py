"""Console mutations: each turns one documented key into a no-op (or breaks read-only or the
secret masking), as they once broke with no test failing (issue 12).
`python3 tests/mutation/run.py` applies them one at a time."""

RUNS = "tui/panes/runs.py"
KEYS = "tests/tui/test_console_keys.py"
SNAPSHOTS = "tests/tui/test_snapshots.py"


def no_op(name: str, path: str, defline: str, test: str, after: str = "") -> dict:
    """The action under `defline` (plus `after`, to make it unique) returns at once."""
    old = f"{defline}\n{after}"
    return {
        "name": name,
        "path": path,
        "old": old,
        "new": f"{defline}\n        return\n{after}",
        "tests": [f"{KEYS}::{test}"],
    }


MUTATIONS = [
    no_op(
        "runs-f-state-filter-off",
        RUNS,
        "    def action_cycle_state(self) -> None:",
        "test_runs_f_cycles_the_state_filter",
    ),
    no_op(
        "runs-j-clear-job-off",
        RUNS,
        "    def action_clear_job(self) -> None:",
        "test_runs_j_clears_the_job_filter",
    ),
    no_op(
        "runs-list-c-cancel-off",
        RUNS,
        "    def action_cancel(self) -> None:",
        "test_runs_c_cancels_a_queued_and_a_running_run_from_the_list",
        after="        key = self.selected_key()",
    ),
    no_op(
        "run-screen-c-cancel-off",
        RUNS,
        "    def action_cancel(self) -> None:",
        "test_run_screen_c_cancels_the_run",
        after="        ask_cancel(self.app, self.session, self.run_id)",
    ),
    no_op(
        "run-screen-G-follow-off",
        RUNS,
        "    def action_follow(self) -> None:",
        "test_run_screen_G_follows_the_log_again",
    ),
    no_op(
        "run-screen-s-save-off",
        RUNS,
        "    def action_save(self) -> None:",
        "test_run_screen_s_saves_the_log_to_a_file",
    ),
    no_op(
        "run-screen-n-N-next-hit-off",
        RUNS,
        "    def action_next_hit(self, step: int) -> None:",
        "test_run_screen_n_and_N_move_between_matches",
    ),
    no_op(
        "run-screen-w-wrap-off",
        RUNS,
        "    def action_wrap(self) -> None:",
        "test_run_screen_w_wraps_and_T_shows_times",
    ),
    no_op(
        "run-screen-T-times-off",
        RUNS,
        "    def action_timestamps(self) -> None:",
        "test_run_screen_w_wraps_and_T_shows_times",
    ),
    no_op(
        "connections-n-create-off",
        "tui/panes/connections.py",
        "    def action_create(self) -> None:",
        "test_connections_n_creates_one_and_keeps_its_secret_encrypted",
    ),
    no_op(
        "sql-e-edit-off",
        "tui/panes/sql.py",
        "    def action_edit(self) -> None:",
        "test_sql_e_edits_and_ctrl_w_closes_the_tab",
    ),
    no_op(
        "sql-ctrl-w-close-tab-off",
        "tui/panes/sql.py",
        "    async def action_close_tab(self) -> None:",
        "test_sql_e_edits_and_ctrl_w_closes_the_tab",
    ),
    no_op(
        "workspaces-enter-switch-off",
        "tui/panes/workspaces.py",
        "    def action_switch(self) -> None:",
        "test_workspaces_enter_switches_the_workspace",
    ),
    no_op(
        "workspaces-p-provision-off",
        "tui/panes/workspaces.py",
        "    def action_provision(self) -> None:",
        "test_workspaces_p_shows_the_plan_then_provisions",
    ),
    no_op(
        "workspaces-c-check-off",
        "tui/panes/workspaces.py",
        "    def action_check(self) -> None:",
        "test_workspaces_c_shows_the_separation_check_result",
    ),
    no_op(
        "jobs-p-pause-off",
        "tui/panes/jobs.py",
        "    def action_pause(self) -> None:",
        "test_jobs_p_pauses_and_resumes_the_schedule",
    ),
    no_op(
        "health-r-refresh-off",
        "tui/panes/health.py",
        "    def action_refresh(self) -> None:",
        "test_health_r_checks_again",
    ),
    no_op(
        "catalog-s-snapshot-rows-off",
        "tui/panes/catalog.py",
        "    def action_sample_snapshot(self) -> None:",
        "test_catalog_s_shows_rows_as_of_the_selected_snapshot",
    ),
    {
        "name": "viewer-not-forced-read-only",
        "path": "tui/app.py",
        "old": 'self.read_only = self._asked_read_only or message.role in (None, "viewer")',
        "new": "self.read_only = self._asked_read_only",
        "tests": [f"{KEYS}::test_a_viewer_gets_a_read_only_console"],
    },
    {
        "name": "connections-pane-shows-clear-secret",
        "path": "tui/panes/connections.py",
        "old": "for k, v in c.config.items()),",
        # The pane resolves the references and shows what they hold.
        "new": "for k, v in self.session.s.connections.resolve(self.session.actor, c.name)"
        ".config.items()),",
        "tests": [
            f"{SNAPSHOTS}::test_connections_rows_never_show_a_secret",
            f"{SNAPSHOTS}::TestPanes::test_connections_masks_secrets",
        ],
    },
    {
        "name": "connection-form-secret-not-masked",
        "path": "tui/panes/connections.py",
        "old": "password=f.secret,",
        "new": "password=False,",
        "tests": [f"{SNAPSHOTS}::TestForms::test_connection_with_a_secret_typed"],
    },
    {
        "name": "markup-escape-skips-capitals",
        "path": "tui/markup.py",
        "old": r'return text.replace("[", "\\[")',
        "new": "from rich.markup import escape as rich_escape\n\n    return rich_escape(text)",
        "tests": ["tests/tui/test_markup.py"],
    },
    {
        "name": "help-keys-read-as-markup",
        "path": "tui/widgets/help.py",
        "old": "[b]{escape(f'{key:<14}')}[/b]",
        "new": "[b]{key:<14}[/b]",
        "tests": [f"{SNAPSHOTS}::TestOverlays::test_help"],
    },
    {
        "name": "runs-columns-added-twice",
        "path": RUNS,
        # A pane's own on_mount calling the base one: Textual runs both, columns twice.
        "old": "    LIVE_SECONDS = 1.0\n",
        "new": "    LIVE_SECONDS = 1.0\n\n"
        "    def on_mount(self) -> None:\n        super().on_mount()\n",
        "tests": [f"{SNAPSHOTS}::TestPanes::test_runs"],
    },
]
