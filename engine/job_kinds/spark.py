"""Spark jobs: an application submitted to a batch connection (the Spark Operator, or
spark-submit in local mode), which runs outside the engine and is re-adopted after a crash
by its application id."""

from __future__ import annotations

import re
from typing import Any

from engine.errors import ValidationError
from engine.job_kinds import JobField, JobKind, register

_MEMORY = re.compile(r"\d+[kmgt]?", re.I)


def check(d: dict[str, Any]) -> None:
    """The application file and type, its main class, the sizes, arguments and conf."""
    if not d.get("main_application_file"):
        raise ValidationError("a spark job needs its application file", "main_application_file")
    d.setdefault(
        "app_type", "Python" if str(d["main_application_file"]).endswith(".py") else "Scala"
    )
    if d["app_type"] not in ("Python", "Scala", "Java", "R"):
        raise ValidationError("must be Python, Scala, Java or R", field="app_type")
    if d["app_type"] in ("Scala", "Java") and not d.get("main_class"):
        raise ValidationError("a Scala or Java application needs its main class", "main_class")
    for key in ("driver_cores", "executor_cores", "executor_instances"):
        if key in d and (not isinstance(d[key], int) or isinstance(d[key], bool) or d[key] < 1):
            raise ValidationError("must be a whole number >= 1", field=key)
    for key in ("driver_memory", "executor_memory"):
        if key in d and not _MEMORY.fullmatch(str(d[key])):
            raise ValidationError("must look like 512m or 2g", field=key)
    if not isinstance(d.get("arguments", []), list):
        raise ValidationError("must be a list of strings", field="arguments")
    if not isinstance(d.get("spark_conf", {}), dict):
        raise ValidationError("must be a mapping", field="spark_conf")


KIND = register(
    JobKind(
        "spark",
        connection_role="batch",
        summary="a Spark application on the Spark Operator or spark-submit",
        # In the console form's order; the CLI's flags follow it too.
        fields=(
            JobField(
                "main_application_file",
                "Application file (local:///… or s3a://…)",
                help="spark: main application file (.py or .jar)",
                flag="app-file",
                required=True,
                missing="a spark job needs its application file",
            ),
            JobField(
                "app_type", "App type (Python, Scala, Java, R; empty: from the file)", flag=None
            ),
            JobField("main_class", "Main class (Scala and Java)"),
            JobField(
                "arguments",
                "Arguments (shell words)",
                "words",
                help="spark: an argument (may start with -, e.g. --arg --ds)",
                flag="arg",
                metavar="ARG",
            ),
            JobField(
                "spark_conf",
                "Spark conf (key=value, …)",
                "mapping",
                help="spark conf",
                flag="conf",
                metavar="KEY=VALUE",
            ),
            JobField("driver_cores", "Driver cores", "int"),
            JobField("driver_memory", "Driver memory (512m, 2g)"),
            JobField("executor_instances", "Executors", "int"),
            JobField("executor_cores", "Executor cores", "int"),
            JobField("executor_memory", "Executor memory"),
            JobField("image", "Image (empty: the connection's)"),
            JobField("spark_version", flag=None, in_form=False),
        ),
        executor="engine.runner.spark_executor:run_spark",
        check=check,
        connection_required=True,
        connection_label="Spark connection (empty: the workspace's)",
    )
)
