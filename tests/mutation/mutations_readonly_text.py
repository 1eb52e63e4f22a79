"""Breakages the read-only and untrusted-text tests must catch (issue 13, items 6 and 7)."""

RO = "tests/engine/test_read_only.py"
RO_TUI = "tests/tui/test_read_only.py"
TEXT = "tests/engine/test_untrusted_text.py"
TEXT_TUI = "tests/tui/test_untrusted_text.py"

MUTATIONS: list[dict] = [
    {
        "name": "authorize lets a read-only session change things",
        "path": "engine/services/base.py",
        "old": "action not in READS if changes is None else changes)",
        "new": "False)",
        "tests": [RO, RO_TUI + "::test_a_read_only_console_refuses_a_write_from_the_sql_pane"],
    },
    {
        "name": "a SQL write counts as a read",
        "path": "engine/services/base.py",
        "old": '        "sql.read",\n        "job.show",',
        "new": '        "sql.read",\n        "sql.write",\n        "job.show",',
        "tests": [RO],
    },
    {
        "name": "a read-only user may set their own password",
        "path": "engine/services/users.py",
        "old": '                refuse_read_only(actor, "user.set_password")\n',
        "new": "",
        "tests": [RO],
    },
    {
        "name": "the CLI forgets --read-only",
        "path": "engine/cli/runtime.py",
        "old": "Actor(os_username(), source, read_only=self.settings.read_only)",
        "new": "Actor(os_username(), source)",
        "tests": [RO + "::test_cli_read_only_flag_before_or_after_the_command_and_from_the_env"],
    },
    {
        "name": "changing keys stay in the footer in read-only",
        "path": "tui/panes/base.py",
        "old": "(action in self.CHANGES and self.session.read_only)",
        "new": "(False)",
        "tests": [RO_TUI + "::test_changing_keys_are_gone_from_footer_help_and_palette"],
    },
    {
        "name": "a viewer's console is not read-only",
        "path": "tui/app.py",
        "old": '        self.read_only = self._asked_read_only or message.role in (None, "viewer")',
        "new": "        self.read_only = self._asked_read_only",
        "tests": [RO_TUI + "::test_a_viewer_gets_a_read_only_console"],
    },
    {
        "name": "plain() lets every control through",
        "path": "engine/text.py",
        "old": "if text.isprintable():  # the common case",
        "new": "if True:  # the common case",
        "tests": [TEXT, TEXT_TUI],
    },
    {
        "name": "list cells are parsed as markup",
        "path": "tui/panes/base.py",
        "old": "    return literal(value) if isinstance(value, str) else value",
        "new": "    return value",
        "tests": [TEXT_TUI + "::test_a_run_error_and_a_log_line"],
    },
    {
        "name": "log lines reach the terminal raw",
        "path": "tui/widgets/log_view.py",
        "old": '        lines = [plain(s.expandtabs(4) if "\\t" in s else s) for s in lines]',
        "new": '        lines = [s.expandtabs(4) if "\\t" in s else s for s in lines]',
        "tests": [TEXT_TUI + "::test_a_run_error_and_a_log_line"],
    },
    {
        "name": "result cells are parsed as markup",
        "path": "tui/widgets/grid.py",
        "old": "        render_markup=False,\n",
        "new": "",
        "tests": [TEXT_TUI + "::test_a_table_name_a_column_name_and_a_cell_value"],
    },
    {
        "name": "notifications are parsed as markup",
        "path": "tui/app.py",
        "old": "timeout=timeout, markup=False",
        "new": "timeout=timeout, markup=True",
        "tests": [TEXT_TUI + "::test_an_engine_error_quoting_markup"],
    },
    {
        "name": "CLI tables print controls",
        "path": "engine/cli/output.py",
        "old": "    return plain(_text(value))",
        "new": "    return _text(value)",
        "tests": [TEXT + "::test_cli_tables_records_and_logs_print_plain_text"],
    },
    {
        "name": "CLI error lines print controls",
        "path": "engine/cli/runtime.py",
        "old": 'print(f"error: {plain(str(exc))}", file=sys.stderr)',
        "new": 'print(f"error: {exc}", file=sys.stderr)',
        "tests": [TEXT + "::test_cli_error_lines_print_plain_text"],
    },
    {
        "name": "job descriptions have no limit",
        "path": "engine/services/jobs.py",
        "old": "        check_identifier(name)\n        check_description(description)\n",
        "new": "        check_identifier(name)\n",
        "tests": [TEXT + "::test_descriptions_have_a_length_limit"],
    },
    {
        "name": "cli-db-migrates-read-only",
        "path": "engine/cli/db.py",
        "old": "    if changes and cli.settings.read_only:",
        "new": "    if False:",
        "tests": [
            "tests/engine/test_read_only.py::test_cli_read_only_migrates_no_schema_and_runs_nothing"
        ],
    },
]
