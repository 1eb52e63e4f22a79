"""Salted scrypt password hashes (stdlib hashlib.scrypt; no extra dependency)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

_N, _R, _P = 2**14, 8, 1
# Hashed against when there is no usable hash (unknown user, no password set), so a failed
# login costs one scrypt either way: 36 ms vs 0.3 ms told which user names exist.
_DUMMY_SALT = b"sadeem-dummy-salt"


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, dklen: int) -> bytes:
    """The one place a password is hashed (tests count its calls)."""
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=dklen)


def hash_password(password: str) -> str:
    salt = os.urandom(16)
    digest = _scrypt(password, salt, _N, _R, _P, 32)
    b64 = base64.b64encode
    return f"scrypt${_N}${_R}${_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str | None) -> bool:
    """Constant-time check; False for any malformed or missing hash, after the same work."""
    try:
        scheme, n, r, p, salt, digest = (stored or "").split("$")
        if scheme != "scrypt":
            raise ValueError(scheme)
        expected = base64.b64decode(digest)
        actual = _scrypt(password, base64.b64decode(salt), int(n), int(r), int(p), len(expected))
    except (ValueError, TypeError):
        _scrypt(password, _DUMMY_SALT, _N, _R, _P, 32)
        return False
    return hmac.compare_digest(actual, expected)
