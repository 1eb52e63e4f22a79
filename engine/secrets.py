"""Secret references: `env:NAME`, `file:PATH`, `k8s:NS/NAME#KEY`, `enc:TOKEN` (Fernet).

The metadata database stores only references. A reference is resolved when a backend is
built and the value is handed straight to it; values never reach a log, an audit event,
an error message or a screen. Errors name the reference, never the value.
"""

from __future__ import annotations

import base64
import os
import re
import stat
from collections.abc import Callable
from pathlib import Path

from engine.errors import SecretError, ValidationError
from engine.lazy_imports import import_once

PREFIXES = ("env:", "file:", "k8s:", "enc:")
MASK = "***"
_K8S = re.compile(
    r"k8s:(?P<ns>[a-z0-9-]{1,63})/(?P<name>[a-z0-9.-]{1,253})#(?P<key>[-._a-zA-Z0-9]+)"
)
_ENV = re.compile(r"env:[A-Za-z_][A-Za-z0-9_]*")

# Resolves (namespace, secret name, key) to a value; injectable for tests and in-cluster use.
K8sReader = Callable[[str, str, str], str]


def is_reference(value: object) -> bool:
    return isinstance(value, str) and value.startswith(PREFIXES)


def check_reference(ref: str, field: str) -> str:
    """Validate a reference's syntax (not its target) with an error that shows the rule."""
    if ref.startswith("env:") and not _ENV.fullmatch(ref):
        raise ValidationError("env: references need a variable name, e.g. env:S3_SECRET", field)
    if ref.startswith("file:") and not ref[5:].startswith("/"):
        raise ValidationError("file: references need an absolute path, e.g. file:/run/s", field)
    if ref.startswith("k8s:") and not _K8S.fullmatch(ref):
        raise ValidationError("k8s: references look like k8s:NAMESPACE/SECRET#KEY", field)
    if ref.startswith("enc:") and len(ref) < 20:
        raise ValidationError("enc: reference is truncated", field)
    return ref


class SecretBox:
    """Encrypts clear values into `enc:` references and resolves any reference."""

    def __init__(
        self,
        data_dir: Path,
        key: str | None = None,
        k8s_reader: K8sReader | None = None,
    ) -> None:
        self._data_dir = data_dir
        self._key = key
        self._fernet_obj = None
        self._k8s_reader = k8s_reader

    def __repr__(self) -> str:
        return f"SecretBox(data_dir={str(self._data_dir)!r})"

    # -- key ------------------------------------------------------------------------------

    @property
    def key_file(self) -> Path:
        return self._data_dir / "secret.key"

    def _fernet(self):  # type: ignore[no-untyped-def]
        if self._fernet_obj is None:
            from cryptography.fernet import Fernet

            key = self._key or self._load_or_create_key_file()
            try:
                self._fernet_obj = Fernet(key.encode() if isinstance(key, str) else key)
            except (ValueError, TypeError):
                raise SecretError(
                    "SADEEM_SECRET_KEY is not a valid Fernet key (32 url-safe base64 bytes)"
                ) from None
        return self._fernet_obj

    def _load_or_create_key_file(self) -> str:
        path = self.key_file
        if path.exists():
            mode = stat.S_IMODE(path.stat().st_mode)
            if mode & 0o077:
                raise SecretError(f"{path} must be readable by its owner only (chmod 600)")
            return path.read_text().strip()
        from cryptography.fernet import Fernet

        path.parent.mkdir(parents=True, exist_ok=True)
        key = Fernet.generate_key().decode()
        # Created 0600 atomically: never world-readable, not even for an instant.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(key + "\n")
        return key

    # -- API ------------------------------------------------------------------------------

    def encrypt(self, value: str) -> str:
        """Turn a clear value into an `enc:` reference."""
        return "enc:" + self._fernet().encrypt(value.encode()).decode()

    def protect(self, value: str, field: str) -> str:
        """What to store for a secret field: references kept (validated), clear text encrypted."""
        if is_reference(value):
            return check_reference(value, field)
        return self.encrypt(value)

    def resolve(self, ref: str) -> str:
        """The clear value behind a reference. Raises SecretError naming the reference."""
        if ref.startswith("env:"):
            name = ref[4:]
            value = os.environ.get(name)
            if value is None:
                raise SecretError(f"environment variable {name} (from {ref}) is not set")
            return value
        if ref.startswith("file:"):
            path = Path(ref[5:])
            try:
                return path.read_text().rstrip("\n")
            except OSError as exc:
                raise SecretError(f"cannot read secret file {path}: {exc.strerror}") from None
        if ref.startswith("k8s:"):
            m = _K8S.fullmatch(ref)
            if not m:
                raise SecretError(f"malformed Kubernetes secret reference {ref}")
            reader = self._k8s_reader or read_k8s_secret
            return reader(m["ns"], m["name"], m["key"])
        if ref.startswith("enc:"):
            from cryptography.fernet import InvalidToken

            try:
                return self._fernet().decrypt(ref[4:].encode()).decode()
            except InvalidToken:
                raise SecretError(
                    "an enc: secret cannot be decrypted with this secret key "
                    "(was SADEEM_SECRET_KEY or the key file changed?)"
                ) from None
        raise SecretError("not a secret reference (expected env:, file:, k8s: or enc:)")


def read_k8s_secret(namespace: str, name: str, key: str) -> str:
    """Read one key of a Kubernetes Secret (in-cluster config first, then kubeconfig)."""
    import_once("kubernetes.client", "kubernetes.config")
    from kubernetes import client, config
    from kubernetes.client.exceptions import ApiException

    try:
        try:
            config.load_incluster_config()
        except config.ConfigException:
            config.load_kube_config()
        secret = client.CoreV1Api().read_namespaced_secret(name, namespace)
    except ApiException as exc:
        raise SecretError(
            f"Kubernetes secret {namespace}/{name}: {exc.status} {exc.reason}"
        ) from None
    except Exception as exc:
        raise SecretError(
            f"Kubernetes secret {namespace}/{name}: {exc.__class__.__name__}"
        ) from None
    data = secret.data or {}
    if key not in data:
        raise SecretError(f"Kubernetes secret {namespace}/{name} has no key {key!r}")
    return base64.b64decode(data[key]).decode()
