"""Issue 14 mutations: each undoes one fix for an ordinary mistake or fault (exit 70, a
hang, half a change, a full disk) and names the tests that must then fail."""

BAD = "tests/engine/test_bad_input.py"
DEADLINES = "tests/engine/test_connection_deadlines.py"
DISK = "tests/engine/test_disk_full.py"
TICKER = "tests/engine/runner/test_ticker.py"


def _case(name: str) -> str:
    return f"{BAD}::test_bad_input_is_one_line_and_changes_nothing[{name}]"


MUTATIONS = [
    {
        "name": "faults-argv-utf8-unchecked",
        "path": "engine/cli/main.py",
        "old": "        check_argv_text(args)\n",
        "new": "        pass\n",
        "tests": [_case("sql-e-not-utf8"), _case("set-value-not-utf8")],
    },
    {
        "name": "faults-file-utf8-unchecked",
        "path": "engine/cli/inputs.py",
        "old": '        return data.decode("utf-8")',
        "new": '        return data.decode("utf-8", "surrogateescape")',
        "tests": [_case("sql-file-not-utf8"), _case("job-sql-file-not-utf8")],
    },
    {
        "name": "faults-output-dir-unchecked",
        "path": "engine/cli/sql.py",
        "old": "        if not path.parent.is_dir():",
        "new": "        if False:",
        "tests": [_case("sql-output-missing-dir")],
    },
    {
        "name": "faults-cli-whole-number-unbounded",
        "path": "engine/cli/inputs.py",
        "old": "        if not minimum <= value <= maximum:",
        "new": "        if False:",
        "tests": [_case("run-id-past-64-bits"), _case("retries-past-64-bits")],
    },
    {
        "name": "faults-job-limits-unbounded",
        "path": "engine/services/jobs.py",
        "old": "        if value > MAX_INT:",
        "new": "        if False:",
        "tests": [f"{BAD}::test_job_service_refuses_numbers_past_the_database_integers"],
    },
    {
        # Without the check, a bad cron still fails inside the transaction (the view parses
        # it) and rolls back; a bad catch-up policy would be written: the test has both.
        "name": "faults-schedule-unchecked-before-create",
        "path": "engine/services/jobs.py",
        "old": "        clean = check_definition(type, definition)\n"
        "        if schedule is not None:\n"
        "            schedule.check()\n",
        "new": "        clean = check_definition(type, definition)\n",
        "tests": [f"{BAD}::test_job_form_create_with_a_bad_schedule_writes_nothing"],
    },
    {
        "name": "faults-schedule-in-its-own-transaction",
        "path": "engine/cli/job.py",
        "old": "        upstream=a.upstream or (),\n        schedule=_schedule(a),\n",
        "new": "        upstream=a.upstream or (),\n",
        "tests": [f"{BAD}::test_bad_cron_leaves_no_job_and_the_fixed_cron_then_works"],
    },
    {
        "name": "faults-db-url-not-normalised",
        "path": "engine/db.py",
        "old": "        driver = installed[0]",
        "new": "        return url",
        "tests": [f"{BAD}::test_readme_plain_postgresql_url_works"],
    },
    {
        "name": "faults-db-not-checked-at-open",
        "path": "engine/wiring.py",
        "old": "        db.check()\n",
        "new": "        pass\n",
        "tests": [_case("db-text-file"), _case("db-nothing-listening")],
    },
    {
        "name": "faults-data-dir-writability-unchecked",
        "path": "engine/wiring.py",
        "old": "        os.chmod(path, 0o700)\n",
        "new": "",
        "tests": [f"{BAD}::test_read_only_data_dir"],
    },
    {
        "name": "faults-settings-ranges-off",
        "path": "engine/settings.py",
        "old": "    check_ranges(settings)\n",
        "new": "",
        "tests": [_case("setting-negative-runs"), _case("setting-heartbeat-nan")],
    },
    {
        "name": "faults-settings-path-from-a-table",
        "path": "engine/settings.py",
        # Back to what made a directory named "{'a': 1}".
        "old": "            if not isinstance(raw, str) or not raw.strip():\n"
        "                raise ValueError(raw)\n"
        "            return Path(raw).expanduser()",
        "new": "            return Path(str(raw)).expanduser()",
        "tests": [_case("setting-data-dir-table")],
    },
    {
        "name": "faults-s3-half-credentials",
        "path": "engine/connection_types.py",
        "old": "        if bool(out.get(first)) != bool(out.get(second)):",
        "new": "        if False:",
        "tests": [_case("s3-access-key-without-secret")],
    },
    {
        "name": "faults-connection-int-unbounded",
        "path": "engine/connection_types.py",
        "old": "        if not low <= number <= high:",
        "new": "        if False:",
        "tests": [_case("trino-port-out-of-range"), _case("timeout-s-zero")],
    },
    {
        "name": "faults-iceberg-sql-no-defaults",
        "path": "engine/backends/iceberg.py",
        "old": (
            '    warehouse = config.get("warehouse") or str(Path(inputs.data_dir) / "warehouse")'
        ),
        "new": '    warehouse = config["warehouse"]',
        "tests": [f"{BAD}::test_iceberg_sql_without_uri_or_warehouse_uses_the_documented_defaults"],
    },
    {
        "name": "faults-probe-never-abandoned",
        "path": "engine/services/health.py",
        "old": "    worker.join(timeout_s + PROBE_SLACK_S)",
        "new": "    worker.join()",
        "tests": [f"{DEADLINES}::test_a_client_that_ignores_its_deadline_is_abandoned"],
    },
    {
        "name": "faults-ctas-leaves-partial-files",
        "path": "engine/backends/duckdb.py",
        "old": "            created = _tree(root) - before",
        "new": "            created = set()",
        "tests": [f"{DISK}::test_failed_ctas_says_disk_full_and_leaves_no_files"],
    },
    {
        "name": "faults-history-not-best-effort",
        "path": "engine/services/sql.py",
        "old": "        except Exception as exc:  # the DB driver's error classes vary by dialect\n"
        '            log.warning("query history not recorded',
        "new": "        except ZeroDivisionError as exc:\n"
        '            log.warning("query history not recorded',
        "tests": [f"{DISK}::test_select_answers_when_its_history_cannot_be_written"],
    },
    {
        "name": "faults-disk-full-not-named",
        "path": "engine/backends/duckdb.py",
        "old": "        if is_disk_full(exc):\n            raise DiskFull(what) from None",
        "new": "        if False:\n            raise DiskFull(what) from None",
        "tests": [f"{DISK}::test_failed_ctas_says_disk_full_and_leaves_no_files"],
    },
    {
        "name": "faults-metadata-disk-full-not-named",
        "path": "engine/db.py",
        "old": "            if folder is not None and disk_nearly_full(folder):",
        "new": "            if False:",
        "tests": [f"{DISK}::test_metadata_write_on_a_full_disk_says_so"],
    },
    {
        "name": "faults-ticker-blocked-chore-stops-all",
        "path": "engine/runner/ticker.py",
        "old": "                    self._busy.add(key)\n"
        "                    self._start_ticking()\n",
        "new": "                    pass\n",
        "tests": [
            f"{TICKER}::test_a_blocked_chore_does_not_hold_back_another_runs_log_line",
            f"{TICKER}::test_a_blocked_chore_is_not_called_again_while_it_still_runs",
        ],
    },
    {
        "name": "faults-log-chunk-lost-on-write-error",
        "path": "engine/runner/context.py",
        "old": "                    self._lines[:0] = [line for c in chunks[i:] for line in c]\n",
        "new": "                    pass\n",
        "tests": [f"{TICKER}::test_a_late_write_that_failed_is_written_again_not_lost"],
    },
    {
        "name": "faults-log-line-after-drain-goes-first",
        "path": "engine/runner/context.py",
        "old": "                self._held = True\n",
        "new": "                pass\n",
        "tests": [
            f"{TICKER}::test_a_line_logged_after_drain_is_not_written_before_the_drained_lines"
        ],
    },
    {
        "name": "faults-trino-failed-delete-stops-reader",
        "path": "engine/backends/trino.py",
        "old": "            kind, message = classify(exc)\n"
        '            raise BackendError(f"cancel of',
        "new": "            kind, message = classify(exc)\n            self._cancelled.set()\n"
        '            raise BackendError(f"cancel of',
        "tests": [
            "tests/engine/backends/test_trino.py::"
            "test_a_cancel_whose_delete_failed_leaves_the_reader_on_and_can_be_sent_again"
        ],
    },
]
