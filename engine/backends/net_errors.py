"""Network and HTTP failures, whatever client raised them, mapped to one vocabulary of
error kinds with a message an operator can act on (and no secret in it)."""

from __future__ import annotations

import socket
import ssl

# Substrings of client error texts, checked in order; first match wins.
_TEXT_KINDS = (
    ("Name or service not known", "dns", "the host name does not resolve"),
    ("nodename nor servname", "dns", "the host name does not resolve"),
    ("Temporary failure in name resolution", "dns", "the host name does not resolve"),
    ("getaddrinfo failed", "dns", "the host name does not resolve"),
    ("Could not resolve host", "dns", "the host name does not resolve"),
    ("Connection refused", "refused", "connection refused: nothing listens on that port"),
    ("CERTIFICATE_VERIFY_FAILED", "tls", "TLS certificate verification failed"),
    ("SSL", "tls", "TLS handshake failed"),
    ("timed out", "timeout", "the server did not answer in time"),
    ("timeout expired", "timeout", "the server did not answer in time"),
    ("Read timeout", "timeout", "the server did not answer in time"),
    ("ConnectTimeout", "timeout", "the server did not answer in time"),
    ("InvalidAccessKeyId", "auth", "the access key is not known to the server"),
    ("SignatureDoesNotMatch", "auth", "the secret key does not match the access key"),
    ("401", "auth", "the server refused the credentials (401)"),
    ("Unauthorized", "auth", "the server refused the credentials (401)"),
    ("403", "forbidden", "the credentials are not allowed to do this (403)"),
    ("AccessDenied", "forbidden", "the credentials are not allowed to do this (403)"),
    ("Forbidden", "forbidden", "the credentials are not allowed to do this (403)"),
    ("NoSuchBucket", "not_found", "the bucket does not exist"),
    ("404", "not_found", "not found (404)"),
)


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    link: BaseException | None = exc
    while link is not None and link not in seen:
        seen.append(link)
        link = link.__cause__ or link.__context__
    return seen


def classify(exc: BaseException) -> tuple[str, str]:
    """(kind, message) for a failure: dns, refused, timeout, tls, auth, forbidden,
    not_found, or error. The message never repeats the exception text verbatim beyond its
    class name, since client errors can carry URLs with credentials."""
    chain = _chain(exc)
    for err in chain:
        if isinstance(err, socket.gaierror):
            return "dns", "the host name does not resolve"
        if isinstance(err, ConnectionRefusedError):
            return "refused", "connection refused: nothing listens on that port"
        if isinstance(err, ssl.SSLError):
            return "tls", "TLS handshake failed"
        if isinstance(err, TimeoutError | socket.timeout):
            return "timeout", "the server did not answer in time"
    text = " ".join(f"{e.__class__.__name__}: {e}" for e in chain)
    for needle, kind, message in _TEXT_KINDS:
        if needle in text:
            return kind, message
    return "error", f"{exc.__class__.__name__}"
