"""Spark on Kubernetes through the Spark Operator: SparkApplication objects
(`sparkoperator.k8s.io/v1beta2`) built from a job's SparkAppSpec, and the mapping of the
operator's application states to Sadeem's run states."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

from engine.backends.base import (
    BATCH_ENDED,
    BATCH_PENDING,
    UNKNOWN,
    BatchReattach,
    BatchStatus,
    HealthResult,
    SparkAppSpec,
)
from engine.backends.kinds import BuildInputs, Field, Kind, register
from engine.errors import BackendError, ValidationError
from engine.lazy_imports import import_once
from engine.run_states import RunState

K8S_MODULES = ("kubernetes.client", "kubernetes.config", "kubernetes.watch")

GROUP, VERSION, PLURAL = "sparkoperator.k8s.io", "v1beta2", "sparkapplications"
DEFAULT_IMAGE = "apache/spark:3.5.3-python3"
_DNS1123 = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")

# Every `status.applicationState.state` the operator reports, as a Sadeem run state.
STATES: dict[str, RunState] = {
    "": RunState.QUEUED,  # created, not yet seen by the operator
    "NEW": RunState.QUEUED,
    "SUBMITTED": RunState.RUNNING,
    "RUNNING": RunState.RUNNING,
    "PENDING_RERUN": RunState.QUEUED,  # the operator will submit it again (restart policy)
    "INVALIDATING": RunState.RUNNING,  # spec changed; the operator is killing and resubmitting
    "SUCCEEDING": RunState.RUNNING,  # driver done, executors still being cleaned up
    "COMPLETED": RunState.SUCCEEDED,
    "FAILING": RunState.RUNNING,  # failure seen, the operator has not settled it yet
    "FAILED": RunState.FAILED,
    "SUBMISSION_FAILED": RunState.FAILED,
    "UNKNOWN": RunState.RUNNING,  # the driver pod cannot be observed right now; keep watching
}


def run_state(operator_state: str | None) -> str:
    return STATES.get(operator_state or "", RunState.RUNNING)


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


class SparkOperatorBackend(BatchReattach):  # Reattachable
    """BatchBackend: SparkApplications through the Kubernetes API (kubernetes client)."""

    def __init__(
        self,
        namespace: str,
        *,
        api_server: str | None = None,
        token: str | None = None,
        kubeconfig: str | None = None,
        verify_tls: bool = True,
        service_account: str = "spark",
        image: str | None = None,
        spark_version: str = "3.5.3",
        ui_url_template: str | None = None,
        request_timeout: float = 15,
    ) -> None:
        self.namespace = check_name(namespace, "namespace")
        self.service_account = service_account
        self.image = image or DEFAULT_IMAGE
        self.spark_version = spark_version
        self.ui_url_template = ui_url_template
        self.timeout = request_timeout
        self._api_server, self._token, self._kubeconfig = api_server, token, kubeconfig
        self._verify = verify_tls
        self._client: Any = None
        # Cancel deletes the object, after which it looks lost; the engine that cancelled
        # remembers, so its own status() says cancelled (another engine cannot know).
        self._cancelled: set[str] = set()
        # Every method below imports from kubernetes; load it here, once, under the lock.
        import_once(*K8S_MODULES)

    def __repr__(self) -> str:
        return f"SparkOperatorBackend(namespace={self.namespace!r})"

    def _api(self) -> Any:
        if self._client is None:
            from kubernetes import client, config

            cfg = client.Configuration()
            if self._api_server:
                cfg.host = self._api_server
                cfg.verify_ssl = self._verify
                if self._token:
                    # The whole header value: this client version ignores api_key_prefix.
                    cfg.api_key = {"authorization": f"Bearer {self._token}"}
            else:
                try:
                    config.load_incluster_config(client_configuration=cfg)
                except config.ConfigException:
                    try:
                        config.load_kube_config(
                            config_file=self._kubeconfig, client_configuration=cfg
                        )
                    except (config.ConfigException, OSError) as exc:
                        raise BackendError(
                            f"no Kubernetes configuration: {exc}", kind="not_found"
                        ) from None
            # No silent retries: urllib3's default of 3 made a 15 s request timeout a 60 s
            # wait on an API server that accepts and never answers.
            cfg.retries = False
            self._client = client.ApiClient(cfg)
        return self._client

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        from kubernetes.client.exceptions import ApiException

        kwargs.setdefault("_request_timeout", self.timeout)
        try:
            return fn(*args, **kwargs)
        except ApiException as exc:
            kind = {401: "auth", 403: "forbidden", 404: "not_found"}.get(exc.status, "error")
            if exc.status == 409:
                from engine.errors import Conflict

                raise Conflict(f"{what}: already exists") from None
            raise BackendError(
                f"{what}: Kubernetes answered {exc.status} {exc.reason}", kind=kind
            ) from None
        except (BackendError, ValidationError):
            raise
        except Exception as exc:
            from engine.backends.net_errors import classify

            kind, message = classify(exc)
            raise BackendError(f"{what}: {message}", kind=kind) from None

    def _custom(self) -> Any:
        from kubernetes import client

        return client.CustomObjectsApi(self._api())

    def submit(self, spec: SparkAppSpec) -> BatchStatus:
        body = build_spark_application(spec, self.namespace, self.service_account, self.image)
        created = self._call(
            f"create SparkApplication {spec.name}",
            self._custom().create_namespaced_custom_object,
            GROUP,
            VERSION,
            self.namespace,
            PLURAL,
            body,
        )
        return self._status_of(created)

    def _status_of(self, obj: dict[str, Any]) -> BatchStatus:
        name = obj["metadata"]["name"]
        status = obj.get("status") or {}
        app_state = status.get("applicationState") or {}
        raw = app_state.get("state", "")
        driver = status.get("driverInfo") or {}
        ui = driver.get("webUIIngressAddress") or driver.get("webUIAddress")
        if ui and not ui.startswith("http"):
            ui = f"http://{ui}"
        if not ui and self.ui_url_template:
            ui = self.ui_url_template.format(name=name, namespace=self.namespace)
        state, message = run_state(raw), app_state.get("errorMessage")
        if state == RunState.FAILED and driver.get("podName"):
            cause = self._driver_error(driver["podName"])
            if cause:
                message = f"{message}: {cause}" if message else cause
        return BatchStatus(name, state, raw or "NEW", message, ui)

    def _driver_error(self, pod: str) -> str | None:
        """The last error line of the driver's log: the operator's message names only the
        exit code, as local Spark's would without its output."""
        from kubernetes import client

        try:
            text = self._call(
                f"log of {pod}",
                client.CoreV1Api(self._api()).read_namespaced_pod_log,
                pod,
                self.namespace,
                tail_lines=200,
            )
        except BackendError:
            return None  # the pod is gone: the operator's message is all there is
        errors = [ln for ln in str(text).splitlines() if "Error" in ln or "Exception" in ln]
        return errors[-1][:500] if errors else None

    def status(self, external_id: str) -> BatchStatus:
        try:
            obj = self._call(
                f"SparkApplication {external_id}",
                self._custom().get_namespaced_custom_object,
                GROUP,
                VERSION,
                self.namespace,
                PLURAL,
                external_id,
            )
        except BackendError as exc:
            if exc.kind != "not_found":
                raise
            if external_id in self._cancelled:
                return BatchStatus(external_id, RunState.CANCELLED, "DELETED", "cancelled")
            return BatchStatus(
                external_id, UNKNOWN, None, "lost: the SparkApplication no longer exists"
            )
        return self._status_of(obj)

    def wait(self, external_id: str, timeout_s: float) -> BatchStatus:
        """Watch the object (server-side timeoutSeconds) until a terminal state."""
        from kubernetes import watch

        deadline = time.monotonic() + timeout_s
        current = self.status(external_id)
        while current.state in BATCH_PENDING and time.monotonic() < deadline:
            stream = watch.Watch()
            remaining = max(1, int(deadline - time.monotonic()))
            try:
                for event in stream.stream(
                    self._custom().list_namespaced_custom_object,
                    GROUP,
                    VERSION,
                    self.namespace,
                    PLURAL,
                    field_selector=f"metadata.name={external_id}",
                    timeout_seconds=remaining,
                ):
                    if event["type"] == "DELETED":
                        return BatchStatus(external_id, RunState.CANCELLED, "DELETED", "deleted")
                    current = self._status_of(event["object"])
                    if current.state not in BATCH_PENDING:
                        stream.stop()
                        break
            except Exception as exc:
                from engine.backends.net_errors import classify

                kind, message = classify(exc)
                raise BackendError(f"watch {external_id}: {message}", kind=kind) from None
            if current.state in BATCH_PENDING:
                current = self.status(external_id)  # the watch ended: look once more
        return current

    def logs(self, external_id: str) -> Iterator[str]:
        """The driver pod's log, followed until the pod ends."""
        from kubernetes import client

        pod = None
        while pod is None:
            obj_status = self.status(external_id)
            try:
                obj = self._custom().get_namespaced_custom_object(
                    GROUP, VERSION, self.namespace, PLURAL, external_id
                )
                pod = ((obj.get("status") or {}).get("driverInfo") or {}).get("podName")
            except Exception:
                return
            if pod is None:
                if obj_status.state not in BATCH_PENDING:
                    return
                time.sleep(1)
        core = client.CoreV1Api(self._api())
        resp = self._call(
            f"log of {pod}",
            core.read_namespaced_pod_log,
            pod,
            self.namespace,
            follow=True,
            _preload_content=False,
            _request_timeout=None,
        )
        buffer = b""
        for chunk in resp.stream(4096):
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                yield line.decode(errors="replace")
        if buffer:
            yield buffer.decode(errors="replace")

    def cancel(self, external_id: str) -> None:
        """Delete the SparkApplication (the operator then kills its pods); one that has
        finished keeps its outcome."""
        if self.status(external_id).state in BATCH_ENDED:
            return
        self._cancelled.add(external_id)
        try:
            self._call(
                f"delete SparkApplication {external_id}",
                self._custom().delete_namespaced_custom_object,
                GROUP,
                VERSION,
                self.namespace,
                PLURAL,
                external_id,
            )
        except BackendError as exc:
            if exc.kind != "not_found":
                raise

    def test(self) -> HealthResult:
        from kubernetes import client

        start = time.perf_counter()
        try:
            info = self._call("version", client.VersionApi(self._api()).get_code)
            self._call(
                "list SparkApplications",
                self._custom().list_namespaced_custom_object,
                GROUP,
                VERSION,
                self.namespace,
                PLURAL,
                limit=1,
            )
        except BackendError as exc:
            return HealthResult(False, detail=str(exc), error_kind=exc.kind)
        return HealthResult(
            True,
            (time.perf_counter() - start) * 1000,
            f"Kubernetes {info.git_version}",
            f"namespace {self.namespace}",
        )


def _build(config: dict[str, Any], inputs: BuildInputs) -> SparkOperatorBackend:
    return SparkOperatorBackend(
        namespace=config["namespace"],
        api_server=config.get("api_server"),
        token=config.get("token"),
        kubeconfig=config.get("kubeconfig"),
        verify_tls=config["verify_tls"],
        service_account=config["service_account"],
        image=config.get("image"),
        spark_version=config["spark_version"],
        ui_url_template=config.get("ui_url_template"),
        request_timeout=float(config["timeout_s"]),
    )


def _engine_host_field(config: dict[str, Any]) -> tuple[str, str] | None:
    if config.get("kubeconfig"):
        return "kubeconfig", "a file on the engine's host"
    return None


KIND = register(
    Kind(
        "spark_operator",
        "batch",
        (
            Field("namespace", required=True),
            Field("api_server", "url", help="empty = in-cluster config or kubeconfig"),
            Field("kubeconfig"),
            Field("token", secret=True),
            Field("verify_tls", "bool", default=True),
            Field("service_account", default="spark"),
            Field("image"),
            Field("spark_version", default="3.5.3"),
            Field("ui_url_template", help="e.g. https://spark.example/{name}"),
        ),
        _build,
        summary="SparkApplications on Kubernetes through the Spark Operator",
        engine_host_field=_engine_host_field,
    )
)
