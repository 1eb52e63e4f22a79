"""Spark on Kubernetes through the Spark Operator: SparkApplication objects
(`sparkoperator.k8s.io/v1beta2`) built from a job's SparkAppSpec, and the mapping of the
operator's application states to Sadeem's run states."""

from __future__ import annotations

import re
from typing import Any

from engine.backends.base import SparkAppSpec
from engine.errors import ValidationError

GROUP, VERSION, PLURAL = "sparkoperator.k8s.io", "v1beta2", "sparkapplications"
DEFAULT_IMAGE = "apache/spark:3.5.3-python3"
_DNS1123 = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")

# Every `status.applicationState.state` the operator reports, as a Sadeem run state.
STATES = {
    "": "queued",  # created, not yet seen by the operator
    "NEW": "queued",
    "SUBMITTED": "running",
    "RUNNING": "running",
    "PENDING_RERUN": "queued",  # the operator will submit it again (restart policy)
    "INVALIDATING": "running",  # spec changed; the operator is killing and resubmitting
    "SUCCEEDING": "running",  # driver done, executors still being cleaned up
    "COMPLETED": "succeeded",
    "FAILING": "running",  # failure seen, the operator has not settled it yet
    "FAILED": "failed",
    "SUBMISSION_FAILED": "failed",
    "UNKNOWN": "running",  # the driver pod cannot be observed right now; keep watching
}


def run_state(operator_state: str | None) -> str:
    return STATES.get(operator_state or "", "running")


def check_name(name: str, field: str = "name") -> str:
    if len(name) > 63 or not _DNS1123.fullmatch(name):
        raise ValidationError(
            f"{name!r} is not a Kubernetes name: lowercase letters, digits and '-', "
            "starting and ending with a letter or digit, at most 63 characters",
            field=field,
        )
    return name


def build_spark_application(
    spec: SparkAppSpec,
    namespace: str,
    service_account: str = "spark",
    image_default: str = DEFAULT_IMAGE,
) -> dict[str, Any]:
    """The SparkApplication object for `spec` (validated against v1beta2 in the tests)."""
    check_name(spec.name)
    check_name(namespace, "namespace")
    labels = {"app.kubernetes.io/managed-by": "sadeem", **spec.labels}
    app: dict[str, Any] = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "SparkApplication",
        "metadata": {"name": spec.name, "namespace": namespace, "labels": labels},
        "spec": {
            "type": spec.app_type,
            "mode": "cluster",
            "image": spec.image or image_default,
            "imagePullPolicy": "IfNotPresent",
            "mainApplicationFile": spec.main_application_file,
            "arguments": list(spec.arguments),
            "sparkVersion": spec.spark_version,
            "sparkConf": {str(k): str(v) for k, v in spec.spark_conf.items()},
            # Sadeem's retry policy owns retries; the operator must not rerun on its own.
            "restartPolicy": {"type": "Never"},
            "driver": {
                "cores": spec.driver_cores,
                "memory": spec.driver_memory,
                "serviceAccount": service_account,
                "labels": labels,
                "env": [{"name": k, "value": v} for k, v in spec.env.items()],
            },
            "executor": {
                "cores": spec.executor_cores,
                "instances": spec.executor_instances,
                "memory": spec.executor_memory,
                "labels": labels,
                "env": [{"name": k, "value": v} for k, v in spec.env.items()],
            },
        },
    }
    if spec.app_type == "Python":
        app["spec"]["pythonVersion"] = "3"
    if spec.main_class:
        app["spec"]["mainClass"] = spec.main_class
    return app


def spec_from_job(
    name: str,
    definition: dict[str, Any],
    *,
    spark_version: str = "3.5.3",
    image: str | None = None,
    labels: dict[str, str] | None = None,
    arguments: list[str] | None = None,
) -> SparkAppSpec:
    """A SparkAppSpec from a spark job's definition (see engine.services.jobs)."""
    return SparkAppSpec(
        name=name,
        main_application_file=definition["main_application_file"],
        main_class=definition.get("main_class"),
        arguments=list(arguments if arguments is not None else definition.get("arguments", [])),
        spark_conf=dict(definition.get("spark_conf", {})),
        spark_version=definition.get("spark_version") or spark_version,
        image=definition.get("image") or image,
        app_type=definition.get("app_type", "Python"),
        driver_cores=int(definition.get("driver_cores", 1)),
        driver_memory=str(definition.get("driver_memory", "1g")),
        executor_cores=int(definition.get("executor_cores", 1)),
        executor_memory=str(definition.get("executor_memory", "1g")),
        executor_instances=int(definition.get("executor_instances", 1)),
        labels=labels or {},
    )
