"""The command's usage error: a bad command line or input, exit status 2 and one line."""

from __future__ import annotations

__all__ = ["UsageError", "one_line"]


class UsageError(ValueError):
    """A bad command line or input: the command exits with status 2 and one line."""


def one_line(exc: BaseException) -> str:
    """``"Type: first line of the message"`` of an exception.

    Examples
    --------
    >>> one_line(ValueError("bad\\nmore"))
    'ValueError: bad'
    """
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")
