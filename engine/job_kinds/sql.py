"""SQL jobs: a templated script run statement by statement on the workspace's SQL engine
(Trino, or the embedded DuckDB), its last SELECT optionally written into a table."""

from __future__ import annotations

from typing import Any

from engine.errors import ValidationError
from engine.identifiers import check_identifier
from engine.job_kinds import JobField, JobKind, register

MODES = ("append", "overwrite")


def check(d: dict[str, Any]) -> None:
    """The SQL text (its template variables declared), the target table and the mode."""
    from engine.templating import sql_contexts, variables

    params = d["params"]
    sql = d.get("sql")
    if not isinstance(sql, str) or not sql.strip():
        raise ValidationError("a sql job needs its SQL text", field="sql")
    if len(sql) > 1_000_000:
        raise ValidationError("longer than 1,000,000 characters", field="sql")
    for var in variables(sql):
        if var not in ("workspace", "ds", "run_id") and not (
            var.startswith("params.") and var[7:] in params
        ):
            raise ValidationError(
                f"unknown template variable {var!r}: use workspace, ds, run_id or a "
                "declared params.NAME",
                field="sql",
            )
    sql_contexts(sql)  # refuses templates where no quoting is safe
    target = d.get("target_table")
    if target is not None:
        parts = str(target).split(".")
        if len(parts) != 2:
            raise ValidationError("must be NAMESPACE.TABLE", field="target_table")
        for part in parts:
            check_identifier(part, "target_table")
    d["mode"] = d.get("mode") or "append"
    if d["mode"] not in MODES:
        raise ValidationError(f"must be one of {', '.join(MODES)}", field="mode")


def job_sql(definition: dict[str, Any], workspace: str = "") -> str:
    """The SQL a job version would run, its template rendered with the job's workspace,
    a placeholder date and the parameters' defaults."""
    from engine.parameters import declared_types
    from engine.templating import render_sql

    sql = definition.get("sql") or definition.get("statements") or ""
    text = ";\n".join(sql) if isinstance(sql, list) else str(sql)
    values = {"workspace": workspace, "ds": "2000-01-01", "run_id": 0}
    params = definition.get("params") or {}
    return render_sql(text, values, params, declared_types(definition))


def job_statements(definition: dict[str, Any], workspace: str = "") -> list[str]:
    """The statements a job version would run, as the runner builds them: split first,
    each rendered with the defaults (see job_sql), the last one written into
    `target_table` when it has one."""
    from engine.sql_analysis import split_text

    sql = definition.get("sql") or definition.get("statements") or ""
    text = ";\n".join(sql) if isinstance(sql, list) else str(sql)
    statements = [job_sql({**definition, "sql": s}, workspace) for s in split_text(text)]
    target = definition.get("target_table")
    if target and statements:
        verb = (
            "CREATE OR REPLACE TABLE {} AS"
            if definition.get("mode") == "overwrite"
            else ("INSERT INTO {}")
        )
        statements[-1] = f"{verb.format(target)} {statements[-1]}"
    return statements


KIND = register(
    JobKind(
        "sql",
        connection_role="sql",
        summary="SQL statements on Trino or the embedded DuckDB",
        fields=(
            JobField(
                "sql",
                "SQL ({{ workspace }}, {{ ds }}, {{ run_id }}, {{ params.NAME }})",
                "multiline",
                help="the SQL text",
                file_help="read the SQL from a file",
                required=True,
                missing="a sql job needs its SQL text",
            ),
            JobField(
                "target_table",
                "Target table (NAMESPACE.TABLE, empty: run as is)",
                help="NAMESPACE.TABLE the final SELECT writes",
            ),
            JobField("mode", "Mode (append or overwrite)", default="append", choices=MODES),
        ),
        executor="engine.runner.sql_executor:run_sql",
        check=check,
        connection_label="SQL connection (empty: the workspace's)",
        statements=job_statements,
    )
)
