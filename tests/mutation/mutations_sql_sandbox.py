"""SQL sandbox mutations (issue 13): each switches off one layer of the embedded engine's
sandbox or one rule of the SQL footprint check; tests/engine/test_sql_sandbox.py must fail."""

DUCKDB = "engine/backends/duckdb.py"
RULES = "engine/sql_analysis.py"
T = "tests/engine/test_sql_sandbox.py"

MUTATIONS = [
    {
        "name": "duckdb-external-access-on",
        "path": DUCKDB,
        "old": 'con.execute("SET enable_external_access=false")',
        "new": "pass",
        "tests": [f"{T}::test_the_engine_itself_refuses_what_the_footprint_misses"],
    },
    {
        "name": "duckdb-configuration-unlocked",
        "path": DUCKDB,
        "old": 'con.execute("SET lock_configuration=true")',
        "new": "pass",
        "tests": [f"{T}::test_the_engine_itself_refuses_what_the_footprint_misses"],
    },
    {
        "name": "duckdb-prefix-without-trailing-slash",
        "path": RULES,
        "old": 'return os.path.realpath(uri).rstrip("/") + "/"',
        "new": 'return os.path.realpath(uri).rstrip("/")',
        "tests": [f"{T}::test_every_role_is_refused_and_nothing_changes[prefix-like dir]"],
    },
    {
        "name": "rules-admins-escape-the-embedded-allow-list",
        "path": RULES,
        "old": "sandboxed = embedded or not policy.admin",
        "new": "sandboxed = not policy.admin",
        "tests": [f"{T}::test_every_role_is_refused_and_nothing_changes[copy in prefix]"],
    },
    {
        "name": "rules-parse-rule-off",
        "path": RULES,
        "old": "if s.parse_error is not None and not policy.admin:",
        "new": "if False:",
        "tests": [f"{T}::test_sql_sadeem_cannot_parse_is_refused_but_for_admins"],
    },
    {
        "name": "rules-file-paths-unchecked",
        "path": RULES,
        "old": "    for path in s.paths:\n        reason",
        "new": "    for path in ():\n        reason",
        "tests": [f"{T}::test_every_role_is_refused_and_nothing_changes[key file]"],
    },
    {
        "name": "rules-symlinks-not-resolved",
        "path": RULES,
        "old": "        real = os.path.realpath(path)\n",
        "new": "        real = os.path.normpath(path)\n",
        "tests": [f"{T}::test_every_role_is_refused_and_nothing_changes[symlink file]"],
    },
    {
        "name": "rules-table-functions-allowed",
        "path": RULES,
        "old": "for name in sorted(s.functions - FILE_FUNCTIONS - SAFE_TABLE_FUNCTIONS):",
        "new": "for name in ():",
        "tests": [f"{T}::test_every_role_is_refused_and_nothing_changes[query()]"],
    },
    {
        "name": "rules-namespaces-case-sensitive",
        "path": RULES,
        "old": "return TableRef(table.catalog.lower(), table.db.lower(), table.name)",
        "new": "return TableRef(table.catalog, table.db, table.name)",
        "tests": [f"{T}::test_every_role_is_refused_and_nothing_changes[upper case]"],
    },
    {
        "name": "rules-admins-cross-on-embedded",
        "path": RULES,
        "old": "if sandboxed and not policy.sandbox_only:",
        "new": "if not policy.admin and not policy.sandbox_only:",
        "tests": [f"{T}::test_every_role_is_refused_and_nothing_changes[int division]"],
    },
    {
        "name": "runner-skips-the-sql-rules",
        "path": "engine/runner/sql_executor.py",
        "old": "    check_statements(services, rc, statements)",
        "new": "    pass",
        "tests": [f"{T}::test_the_runner_refuses_and_the_check_reports_saved_bad_sql"],
    },
    {
        "name": "job-save-skips-the-sql-rules",
        "path": "engine/services/jobs.py",
        "old": "        if self.sql is None:\n            return\n",
        "new": "        return\n",
        "tests": [f"{T}::test_job_save_refuses_what_the_runner_would"],
    },
    {
        "name": "sql-parsed-as-duckdb-on-trino",
        "path": "engine/services/sql.py",
        "old": "        return str(kind.dialect)",
        "new": '        return "duckdb"',
        "tests": [f"{T}::test_on_trino_the_trino_dialect_decides"],
    },
    {
        "name": "rules-written-table-names-unchecked",
        "path": "engine/sql_analysis.py",
        "old": "        if not all(_PLAIN_NAME.fullmatch(part)",
        "new": "        if False and not all(_PLAIN_NAME.fullmatch(part)",
        "tests": [f"{T}::test_every_role_is_refused_and_nothing_changes[table name climbs out]"],
    },
]
