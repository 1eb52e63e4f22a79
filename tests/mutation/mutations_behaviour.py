"""Breakages of one backend implementation each that the behaviour suites
(tests/engine/backends/behaviour/) must catch, in the shared format of tests/mutation/run.py."""

from __future__ import annotations

SUITE = "tests/engine/backends/behaviour"

MUTATIONS: list[dict] = [
    {
        "name": "DuckDB: a syntax error loses its column",
        "path": "engine/backends/duckdb.py",
        "old": "return QueryError(message, line=line, column=column, error_name=",
        "new": "return QueryError(message, line=line, column=None, error_name=",
        "tests": [f"{SUITE}/test_sql_backend.py::test_a_syntax_error_names_its_line_and_column"],
    },
    {
        "name": "Trino: cancel stops reading but never tells the server",
        "path": "engine/backends/trino.py",
        "old": "            self._request.delete(uri)\n        except Exception as exc:\n",
        "new": "            pass\n        except Exception as exc:\n",
        "tests": [f"{SUITE}/test_sql_backend.py::test_cancel_stops_the_query_on_the_engine"],
    },
    {
        "name": "Trino: a query cancelled after its end reports CANCELLED",
        "path": "engine/backends/trino.py",
        "old": "        if not uri:\n            return  # it ended on the server already",
        "new": "        if False:\n            return  # it ended on the server already",
        "tests": [f"{SUITE}/test_sql_backend.py::test_cancel_after_the_end_changes_nothing"],
    },
    {
        "name": "LocalStore: a missing key raises FileNotFoundError",
        "path": "engine/backends/local_store.py",
        "old": "except (FileNotFoundError, IsADirectoryError):\n            raise BackendError(",
        "new": "except IsADirectoryError:\n            raise BackendError(",
        "tests": [
            f"{SUITE}/test_object_store.py::test_a_missing_key_is_not_found_and_deleting_it_is_harmless"
        ],
    },
    {
        "name": "S3Store: the paging token is dropped",
        "path": "engine/backends/s3.py",
        "old": '        if token:\n            kwargs["ContinuationToken"] = token',
        "new": '        if token and False:\n            kwargs["ContinuationToken"] = token',
        "tests": [f"{SUITE}/test_object_store.py::test_paging_returns_every_key_once"],
    },
    {
        "name": "S3Store: put lets SeaweedFS create a missing bucket",
        "path": "engine/backends/s3.py",
        "old": '        if not self.bucket_exists(bucket):\n            raise BackendError(f"put',
        "new": '        if False:\n            raise BackendError(f"put',
        "tests": [f"{SUITE}/test_object_store.py::test_a_missing_bucket_is_not_found_everywhere"],
    },
    {
        "name": "IcebergCatalog: a duplicate table is accepted (REST answers 200)",
        "path": "engine/backends/iceberg.py",
        "old": "        if self.table_exists(identifier):",
        "new": "        if False:",
        "tests": [
            f"{SUITE}/test_catalog_backend.py::"
            "test_a_duplicate_table_is_a_conflict_and_a_dropped_one_is_gone"
        ],
    },
    {
        "name": "IcebergCatalog: the SQL probe forgets namespaces without tables",
        "path": "engine/backends/iceberg.py",
        "old": '"UNION SELECT namespace FROM iceberg_namespace_properties "',
        "new": '"UNION SELECT table_namespace FROM iceberg_tables "',
        "tests": [f"{SUITE}/test_catalog_backend.py::test_health_counts_the_namespaces"],
    },
    {
        "name": "SparkOperator: the canceller forgets it cancelled",
        "path": "engine/backends/spark_operator.py",
        "old": "        self._cancelled.add(external_id)",
        "new": "        pass",
        "tests": [f"{SUITE}/test_batch_backend.py::test_the_canceller_sees_cancelled"],
    },
    {
        "name": "SparkOperator: a failure says only the driver's exit code",
        "path": "engine/backends/spark_operator.py",
        "old": '        if state == RunState.FAILED and driver.get("podName"):',
        "new": "        if False:",
        "tests": [f"{SUITE}/test_batch_backend.py::test_a_failure_message_names_its_cause"],
    },
    {
        "name": "SparkLocal: logs yield nothing",
        "path": "engine/backends/spark_local.py",
        "old": "        if self.status(external_id).state == UNKNOWN:\n            return\n",
        "new": "        if True:\n            return\n",
        "tests": [
            f"{SUITE}/test_batch_backend.py::"
            "test_a_finished_application_succeeded_and_its_log_is_complete"
        ],
    },
    {
        "name": "SparkLocal: cancel marks a finished application cancelled",
        "path": "engine/backends/spark_local.py",
        "old": "if self.status(external_id).state in (*BATCH_ENDED, UNKNOWN):",
        "new": "if self.status(external_id).state in (UNKNOWN,):",
        "tests": [f"{SUITE}/test_batch_backend.py::test_cancel_after_the_end_keeps_the_outcome"],
    },
    {
        "name": "SparkLocal: a name the operator refuses is accepted",
        "path": "engine/backends/spark_local.py",
        "old": "        check_name(spec.name)\n",
        "new": "",
        "tests": [
            f"{SUITE}/test_batch_backend.py::"
            "test_a_name_the_cluster_would_refuse_is_refused_before_submit"
        ],
    },
]
