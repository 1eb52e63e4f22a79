"""MinIO or any S3 API through boto3, with path-style addressing (what MinIO and
SeaweedFS on-prem expect)."""

from __future__ import annotations

import time
from typing import Any

from engine.backends.base import HealthResult, ListPage, ObjectInfo, count_prefix
from engine.backends.kinds import BuildInputs, Field, Kind, register
from engine.backends.net_errors import classify
from engine.errors import BackendError
from engine.lazy_imports import import_once
from engine.settings import mask_url


class S3Store:
    """ObjectStore over an S3 endpoint. The secret key lives only in the boto3 client."""

    def __init__(
        self,
        endpoint: str,
        region: str = "us-east-1",
        access_key: str | None = None,
        secret_key: str | None = None,
        path_style: bool = True,
        verify_tls: bool = True,
        timeout_s: float = 10,
    ) -> None:
        import_once("boto3", "botocore.config")
        import boto3
        from botocore import UNSIGNED
        from botocore.config import Config

        # Shown in messages and repr only; a legacy endpoint's user:password@ stays hidden.
        self.endpoint = mask_url(endpoint)
        if bool(access_key) != bool(secret_key):
            # boto3 raises PartialCredentialsError for this; say which half is missing.
            missing = "secret_key" if access_key else "access_key"
            raise BackendError(f"S3 credentials incomplete: {missing} is empty", kind="auth")
        self._client = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name=region,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            verify=verify_tls,
            config=Config(
                s3={"addressing_style": "path" if path_style else "auto"},
                # Bounded: an endpoint that accepts and never answers costs one timeout per
                # attempt (botocore's default read timeout is 60 s, with retries).
                connect_timeout=timeout_s,
                read_timeout=timeout_s,
                retries={"total_max_attempts": 1, "mode": "standard"},
                # No access key means anonymous access, not "look for credentials elsewhere":
                # an engine must never pick up ambient AWS credentials by accident.
                signature_version="s3v4" if access_key else UNSIGNED,
            ),
        )

    def __repr__(self) -> str:
        return f"S3Store(endpoint={self.endpoint!r})"

    def _call(self, what: str, method: str, **kwargs: Any) -> Any:
        from botocore.exceptions import ClientError

        try:
            return getattr(self._client, method)(**kwargs)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            kind = {
                "NoSuchBucket": "not_found",
                "NoSuchKey": "not_found",
                "404": "not_found",
                "NotFound": "not_found",
                "InvalidAccessKeyId": "auth",
                "SignatureDoesNotMatch": "auth",
                "AccessDenied": "forbidden",
                "403": "forbidden",
            }.get(code, "auth" if status == 401 else "error")
            raise BackendError(
                f"{what}: {code or status} from {self.endpoint}", kind=kind
            ) from None
        except Exception as exc:
            kind, message = classify(exc)
            raise BackendError(f"{what}: {message} ({self.endpoint})", kind=kind) from None

    def bucket_exists(self, bucket: str) -> bool:
        try:
            self._call(f"bucket {bucket}", "head_bucket", Bucket=bucket)
        except BackendError as exc:
            if exc.kind == "not_found":
                return False
            raise
        return True

    def create_bucket(self, bucket: str) -> None:
        if not self.bucket_exists(bucket):
            self._call(f"create bucket {bucket}", "create_bucket", Bucket=bucket)

    def list(
        self,
        bucket: str,
        prefix: str = "",
        *,
        delimiter: str | None = None,
        page_size: int = 1000,
        token: str | None = None,
    ) -> ListPage:
        kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix, "MaxKeys": page_size}
        if delimiter:
            kwargs["Delimiter"] = delimiter
        if token:
            kwargs["ContinuationToken"] = token
        resp = self._call(f"list {bucket}/{prefix}", "list_objects_v2", **kwargs)
        objects = [
            ObjectInfo(o["Key"], int(o["Size"]), o.get("LastModified"))
            for o in resp.get("Contents", [])
        ]
        prefixes = [p["Prefix"] for p in resp.get("CommonPrefixes", [])]
        next_token = resp.get("NextContinuationToken") if resp.get("IsTruncated") else None
        return ListPage(objects, prefixes, next_token)

    def put(self, bucket: str, key: str, data: bytes) -> None:
        # SeaweedFS creates a missing bucket on the first put; S3 and the local store refuse.
        # Refuse here too (one HEAD): a mistyped bucket must not appear by accident.
        if not self.bucket_exists(bucket):
            raise BackendError(f"put {bucket}/{key}: bucket {bucket!r} does not exist", "not_found")
        self._call(f"put {bucket}/{key}", "put_object", Bucket=bucket, Key=key, Body=data)

    def get(self, bucket: str, key: str) -> bytes:
        resp = self._call(f"get {bucket}/{key}", "get_object", Bucket=bucket, Key=key)
        return resp["Body"].read()

    def delete(self, bucket: str, key: str) -> None:
        self._call(f"delete {bucket}/{key}", "delete_object", Bucket=bucket, Key=key)

    def prefix_size(self, bucket: str, prefix: str) -> tuple[int, int]:
        return count_prefix(self, bucket, prefix)

    def uri(self, bucket: str, prefix: str) -> str:
        return f"s3://{bucket}/{prefix.strip('/')}" if prefix else f"s3://{bucket}"

    def test(self, bucket: str | None = None) -> HealthResult:
        """Reachability and auth (list buckets), then the bucket when one is named."""
        start = time.perf_counter()
        try:
            resp = self._call("list buckets", "list_buckets")
            if bucket and not self.bucket_exists(bucket):
                return HealthResult(
                    False, detail=f"bucket {bucket!r} does not exist", error_kind="not_found"
                )
        except BackendError as exc:
            return HealthResult(False, detail=str(exc), error_kind=exc.kind)
        server = resp.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("server")
        return HealthResult(
            True,
            (time.perf_counter() - start) * 1000,
            server,
            f"{len(resp.get('Buckets', []))} bucket(s)",
        )


def _build(config: dict[str, Any], inputs: BuildInputs) -> S3Store:
    return S3Store(
        endpoint=config["endpoint"],
        region=config["region"],
        access_key=config.get("access_key"),
        secret_key=config.get("secret_key"),
        path_style=config["path_style"],
        verify_tls=config["verify_tls"],
        timeout_s=config["timeout_s"],
    )


KIND = register(
    Kind(
        "s3",
        "storage",
        (
            Field("endpoint", "url", required=True, help="http(s)://host:port of MinIO or S3"),
            Field("region", default="us-east-1"),
            Field("access_key"),
            Field("secret_key", secret=True),
            Field("bucket", help="default bucket for workspaces on this store"),
            Field("path_style", "bool", default=True),
            Field("verify_tls", "bool", default=True),
        ),
        _build,
        summary="MinIO or S3 object storage",
        # The bucket a workspace would use is part of the test: a store without it fails.
        test=lambda store, config: store.test(config.get("bucket")),
        pairs=(("access_key", "secret_key"),),
    )
)
