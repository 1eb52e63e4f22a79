"""The embedded object store: buckets are directories under one root on local disk."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path

from engine.backends.base import HealthResult, ListPage, ObjectInfo, count_prefix
from engine.errors import BackendError, Conflict, ValidationError


class LocalStore:
    """ObjectStore over a directory; keys are relative paths, never escaping the root."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()

    def __repr__(self) -> str:
        return f"LocalStore({str(self.root)!r})"

    def _bucket(self, bucket: str) -> Path:
        if not bucket or "/" in bucket or bucket in (".", ".."):
            raise ValidationError(f"{bucket!r} is not a bucket name", field="bucket")
        return self.root / bucket

    def _path(self, bucket: str, key: str) -> Path:
        base = self._bucket(bucket)
        path = (base / key).resolve()
        if path != base and base not in path.parents:
            raise ValidationError(f"key {key!r} escapes its bucket", field="key")
        return path

    def bucket_exists(self, bucket: str) -> bool:
        return self._bucket(bucket).is_dir()

    def create_bucket(self, bucket: str) -> None:
        self._bucket(bucket).mkdir(parents=True, exist_ok=True)

    def list(
        self,
        bucket: str,
        prefix: str = "",
        *,
        delimiter: str | None = None,
        page_size: int = 1000,
        token: str | None = None,
    ) -> ListPage:
        base = self._bucket(bucket)
        if not base.is_dir():
            raise BackendError(f"bucket {bucket!r} does not exist", kind="not_found")
        keys: list[str] = []
        prefixes: set[str] = set()
        for dirpath, _dirs, files in os.walk(base):
            for name in files:
                key = (Path(dirpath) / name).relative_to(base).as_posix()
                if not key.startswith(prefix):
                    continue
                rest = key[len(prefix) :]
                if delimiter and delimiter in rest:
                    prefixes.add(prefix + rest.split(delimiter, 1)[0] + delimiter)
                else:
                    keys.append(key)
        keys.sort()
        # The continuation token is the last key returned, like S3's StartAfter.
        if token:
            keys = [k for k in keys if k > token]
        page, more = keys[:page_size], len(keys) > page_size
        objects = []
        for key in page:
            st = (base / key).stat()
            objects.append(ObjectInfo(key, st.st_size, datetime.fromtimestamp(st.st_mtime, UTC)))
        return ListPage(objects, sorted(prefixes), page[-1] if more else None)

    def put(self, bucket: str, key: str, data: bytes) -> None:
        if not self.bucket_exists(bucket):
            raise BackendError(f"bucket {bucket!r} does not exist", kind="not_found")
        path = self._path(bucket, key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_bytes(data)
            tmp.replace(path)
        except (FileExistsError, NotADirectoryError, IsADirectoryError):
            # S3 allows keys `a` and `a/b` side by side; a directory tree cannot.
            raise Conflict(
                f"{bucket}/{key}: the local store cannot keep a key that is also "
                "a prefix of another key"
            ) from None

    def get(self, bucket: str, key: str) -> bytes:
        try:
            return self._path(bucket, key).read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            raise BackendError(f"{bucket}/{key} does not exist", kind="not_found") from None

    def delete(self, bucket: str, key: str) -> None:
        self._path(bucket, key).unlink(missing_ok=True)

    def prefix_size(self, bucket: str, prefix: str) -> tuple[int, int]:
        return count_prefix(self, bucket, prefix)

    def uri(self, bucket: str, prefix: str) -> str:
        path = self._bucket(bucket) / prefix.strip("/") if prefix else self._bucket(bucket)
        return path.as_uri()

    def test(self, bucket: str | None = None) -> HealthResult:
        start = time.perf_counter()
        if not os.access(self.root if self.root.exists() else self.root.parent, os.W_OK):
            return HealthResult(
                False, detail=f"{self.root} is not writable", error_kind="forbidden"
            )
        if bucket and not self.bucket_exists(bucket):
            return HealthResult(
                False, detail=f"bucket {bucket!r} does not exist", error_kind="not_found"
            )
        return HealthResult(True, (time.perf_counter() - start) * 1000, "local", str(self.root))
