"""Secret references: `env:NAME`, `file:PATH`, `k8s:NS/NAME#KEY`, `enc:TOKEN` (Fernet).

The metadata database stores only references. A reference is resolved when a backend is
built and the value is handed straight to it; values never reach a log, an audit event,
an error message or a screen. Errors name the reference, never the value.
"""

from __future__ import annotations

import base64
import errno
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.errors import SecretError, ValidationError
from engine.lazy_imports import import_once

if TYPE_CHECKING:
    from cryptography.fernet import Fernet

PREFIXES = ("env:", "file:", "k8s:", "enc:")
MASK = "***"
_K8S = re.compile(
    r"k8s:(?P<ns>[a-z0-9-]{1,63})/(?P<name>[a-z0-9.-]{1,253})#(?P<key>[-._a-zA-Z0-9]+)"
)
_ENV = re.compile(r"env:[A-Za-z_][A-Za-z0-9_]*")

# Resolves (namespace, secret name, key) to a value; injectable for tests and in-cluster use.
K8sReader = Callable[[str, str, str], str]


@dataclass(frozen=True)
class SecretPolicy:
    """Where references may point, set by the platform admin in the system config
    (`secret_file_dirs`, `secret_env_prefix`, `secret_k8s_namespaces`). Checked when a
    connection is saved, for every role, and again when a reference is resolved."""

    file_dirs: tuple[str, ...] = ("/run/secrets",)
    env_prefix: str = "SADEEM_SECRET_"
    k8s_namespaces: tuple[str, ...] = ()
    # Never readable as secrets, wherever the allowed dirs point: the data dir (key file,
    # embedded DB), the metadata DB file, and Sadeem's own settings variables.
    protected_paths: tuple[str, ...] = ()
    protected_env: frozenset[str] = frozenset()

    @classmethod
    def from_settings(cls, settings: Any) -> SecretPolicy:
        from dataclasses import fields

        protected = [str(settings.data_dir)]
        url = settings.effective_database_url
        if url.startswith("sqlite:///"):
            protected.append(url[len("sqlite:///") :])
        return cls(
            file_dirs=tuple(settings.secret_file_dirs),
            env_prefix=settings.secret_env_prefix,
            k8s_namespaces=tuple(settings.secret_k8s_namespaces),
            protected_paths=tuple(protected),
            protected_env=frozenset(f"SADEEM_{f.name.upper()}" for f in fields(settings)),
        )

    def refusal(self, ref: str) -> str | None:
        """Why the reference points somewhere not allowed (which rule, how to fix), or None."""
        if ref.startswith("env:"):
            name = ref[4:]
            if not self.env_prefix:
                return "env: references are turned off on this site (secret_env_prefix is empty)"
            if name in self.protected_env:
                return f"env:{name} is one of Sadeem's own settings, never a secret reference"
            if not name.startswith(self.env_prefix):
                return (
                    f"env: references must name a variable starting with {self.env_prefix} "
                    f"(secret_env_prefix), e.g. env:{self.env_prefix}S3"
                )
        if ref.startswith("file:"):
            real = os.path.realpath(ref[5:])  # symlinks and `..` resolved before checking
            if any(_under(real, p) for p in self.protected_paths):
                return "file: references may not read Sadeem's data dir, key file or database"
            if not any(_under(real, d) for d in self.file_dirs):
                allowed = ", ".join(self.file_dirs) or "none"
                return (
                    f"file: references must point under an allowed directory ({allowed}; "
                    "secret_file_dirs), after symlinks and .. are resolved"
                )
        if ref.startswith("k8s:"):
            m = _K8S.fullmatch(ref)
            if m and m["ns"] not in self.k8s_namespaces:
                allowed = ", ".join(self.k8s_namespaces) or "none"
                return (
                    f"k8s: references must use an allowed namespace ({allowed}; "
                    f"secret_k8s_namespaces), not {m['ns']!r}"
                )
        return None


def _under(path: str, directory: str) -> bool:
    """Whether a resolved path is the directory or inside it (the directory resolved too)."""
    if not directory:
        return False
    return Path(path).is_relative_to(os.path.realpath(directory))


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
        policy: SecretPolicy | None = None,
    ) -> None:
        self._data_dir = data_dir
        self._key = key
        self._fernet_obj: Fernet | None = None
        self._k8s_reader = k8s_reader
        if policy is None:
            from engine.settings import Settings

            policy = SecretPolicy.from_settings(Settings(data_dir=data_dir))  # the defaults
        self.policy = policy

    def __repr__(self) -> str:
        return f"SecretBox(data_dir={str(self._data_dir)!r})"

    # -- key ------------------------------------------------------------------------------

    @property
    def key_file(self) -> Path:
        return self._data_dir / "secret.key"

    def _fernet(self) -> Fernet:
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
            check_reference(value, field)
            refusal = self.policy.refusal(value)
            if refusal:
                raise ValidationError(refusal, field)
            return value
        return self.encrypt(value)

    def resolve(self, ref: str) -> str:
        """The clear value behind a reference. Raises SecretError naming the reference."""
        refusal = self.policy.refusal(ref)
        if refusal:  # stored before the rule, or the rule changed since: never read it
            raise SecretError(f"refused: {refusal}")
        if ref.startswith("env:"):
            name = ref[4:]
            value = os.environ.get(name)
            if value is None:
                raise SecretError(f"environment variable {name} (from {ref}) is not set")
            return value
        if ref.startswith("file:"):
            path = Path(ref[5:])
            # Check the resolved path once more and open exactly it: no component may be
            # a symlink swapped in since the check.
            real = os.path.realpath(path)
            refusal = self.policy.refusal(f"file:{real}")
            if refusal:
                raise SecretError(f"refused: {refusal}")
            try:
                return _read_without_links(real).rstrip("\n")
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
        # A client of its own: never the process-wide default another backend configured.
        cfg = client.Configuration()
        try:
            config.load_incluster_config(client_configuration=cfg)
        except config.ConfigException:
            # $KUBECONFIG read now, not when the kubernetes package was imported.
            config.load_kube_config(
                config_file=os.environ.get("KUBECONFIG"), client_configuration=cfg
            )
        with client.ApiClient(cfg) as api:
            secret = client.CoreV1Api(api).read_namespaced_secret(name, namespace)
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


MAX_SECRET_FILE_BYTES = 1 << 20


def _read_without_links(real: str) -> str:
    """Read the regular file at the absolute, resolved path `real`, walking it one
    component at a time with O_NOFOLLOW, so a directory on the way replaced by a symlink
    after the check fails (ELOOP/ENOTDIR) instead of being followed; O_NONBLOCK so a FIFO
    put there cannot hang the engine."""
    parts = [p for p in real.split("/") if p]
    if not parts:
        raise OSError(errno.EISDIR, "is a directory")
    fd = os.open("/", os.O_RDONLY | os.O_DIRECTORY)
    try:
        for part in parts[:-1]:
            inner = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            os.close(fd)
            fd = inner
        leaf = os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=fd)
    finally:
        os.close(fd)
    with os.fdopen(leaf, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        data = fh.read(MAX_SECRET_FILE_BYTES + 1)
    if len(data) > MAX_SECRET_FILE_BYTES:
        raise OSError(errno.EFBIG, f"larger than {MAX_SECRET_FILE_BYTES} bytes")
    try:
        return data.decode()
    except UnicodeDecodeError:
        raise OSError(errno.EINVAL, "not UTF-8 text") from None
