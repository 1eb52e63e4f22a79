"""SparkApplications built by the engine validate against the v1beta2 schema the tests
keep, and the schema bites: broken objects fail it."""

from __future__ import annotations

import copy

import jsonschema
import pytest

from engine.backends.base import SparkAppSpec
from engine.backends.spark_operator import (
    STATES,
    build_spark_application,
    run_state,
    spec_from_job,
)
from engine.errors import ValidationError
from tests.schemas.loader import validate

SPECS = [
    SparkAppSpec(
        name="demo-bronze-1",
        main_application_file="s3a://lake/jobs/ingest.py",
        arguments=["--date", "2026-11-24"],
    ),
    SparkAppSpec(
        name="pi-2",
        main_application_file="local:///opt/spark/examples/pi.jar",
        main_class="org.apache.spark.examples.SparkPi",
        app_type="Scala",
        executor_instances=3,
        executor_memory="2g",
        driver_memory="512m",
        spark_conf={"spark.sql.shuffle.partitions": "8"},
        env={"TZ": "UTC"},
        labels={"sadeem.io/run": "2"},
    ),
]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_built_applications_validate(spec):
    app = build_spark_application(spec, "lakehouse-jobs")
    validate(app, "sparkapplication_v1beta2")
    assert app["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "sadeem"
    assert app["spec"]["restartPolicy"] == {"type": "Never"}


def test_job_definition_becomes_a_valid_application():
    definition = {
        "main_application_file": "s3a://lake/demo/bronze_ingest.py",
        "arguments": ["--workspace", "demo"],
        "driver_cores": 1,
        "executor_instances": 2,
        "executor_memory": "1g",
        "app_type": "Python",
    }
    app = build_spark_application(spec_from_job("demo-bronze-ingest-7", definition), "jobs")
    validate(app, "sparkapplication_v1beta2")
    assert app["spec"]["executor"]["instances"] == 2


@pytest.mark.parametrize(
    "breakage",
    [
        lambda a: a["spec"].pop("driver"),
        lambda a: a["spec"].pop("sparkVersion"),
        lambda a: a["spec"]["driver"].__setitem__("cores", "two"),
        lambda a: a["spec"].__setitem__("type", "Perl"),
        lambda a: a["spec"]["executor"].__setitem__("instancez", 2),
        lambda a: a["spec"]["driver"].__setitem__("memory", "lots"),
        lambda a: a["metadata"].__setitem__("name", "Not_A_Name"),
    ],
)
def test_the_schema_bites(breakage):
    app = build_spark_application(SPECS[0], "jobs")
    broken = copy.deepcopy(app)
    breakage(broken)
    with pytest.raises(jsonschema.ValidationError):
        validate(broken, "sparkapplication_v1beta2")


def test_names_are_checked_and_states_mapped():
    with pytest.raises(ValidationError):
        build_spark_application(SparkAppSpec(name="Bad_Name", main_application_file="x.py"), "jobs")
    with pytest.raises(ValidationError, match="namespace"):
        build_spark_application(SPECS[0], "Jobs!")
    for state in ("SUBMISSION_FAILED", "PENDING_RERUN", "UNKNOWN", "COMPLETED", "FAILED"):
        assert state in STATES
    assert run_state("COMPLETED") == "succeeded"
    assert run_state("SUBMISSION_FAILED") == "failed"
    assert run_state("PENDING_RERUN") == "queued"
    assert run_state(None) == "queued"
