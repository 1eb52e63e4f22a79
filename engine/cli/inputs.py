"""Text the CLI takes from files, standard input and argv, checked to be UTF-8 before use.

Python hands undecodable argv bytes over as lone surrogates (PEP 383), which fail only
later, deep in a driver or a database write; refusing them here names the option instead."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from engine.errors import ValidationError


def read_text(path: str, option: str) -> str:
    """The UTF-8 text of a file ('-' = standard input), or a ValidationError naming `option`."""
    if path == "-":
        return _stdin(option, whole=True)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ValidationError(f"cannot read {path}: {exc.strerror}", option) from None
    return decode(data, path, option)


def read_line(option: str) -> str:
    """One line of standard input as UTF-8, without its newline."""
    return _stdin(option, whole=False).rstrip("\r\n")


def _stdin(option: str, *, whole: bool) -> str:
    binary = getattr(sys.stdin, "buffer", None)
    if binary is None:  # a text stream put in place of stdin (an embedding caller, a test)
        text = sys.stdin.read() if whole else sys.stdin.readline()
        if not _is_utf8(text):
            raise ValidationError("standard input is not UTF-8 text", option)
        return text
    data = binary.read() if whole else binary.readline()
    return decode(data, "standard input", option)


def decode(data: bytes, where: str, option: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationError(
            f"{where} is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})",
            option,
        ) from None


def check_argv_text(args: argparse.Namespace) -> None:
    """Refuse any argument that is not valid UTF-8, naming its option."""
    for name, value in vars(args).items():
        values = value if isinstance(value, list) else [value]
        for item in values:
            if isinstance(item, str) and not _is_utf8(item):
                option = "--" + name.replace("_", "-")
                raise ValidationError("not valid UTF-8 text", option)


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# Ids and counts are 64-bit in the database; a larger number would overflow its driver.
MAX_ID = 2**63 - 1


def whole(minimum: int = 1, maximum: int = MAX_ID) -> Callable[[str], int]:
    """An argparse `type`: a whole number in [minimum, maximum], refused with the range."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if not minimum <= value <= maximum:
            raise argparse.ArgumentTypeError(f"must be between {minimum} and {maximum}")
        return value

    parse.__name__ = "whole number"
    return parse
