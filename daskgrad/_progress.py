"""A one-line progress bar for the ``daskgrad`` command (chunks done, throughput, ETA).

It draws only on a terminal: when the stream is not a TTY (a log file, a pipe,
CI) or when it is disabled, every call is a no-op, so batch logs stay clean.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["Progress", "format_bytes_rate", "format_eta"]


def format_bytes_rate(nbytes_per_s: float) -> str:
    """Format a throughput in decimal units, ``numpy``-free.

    Examples
    --------
    >>> format_bytes_rate(1.3e9)
    '1.3 GB/s'
    >>> format_bytes_rate(512)
    '512 B/s'
    """
    value = float(nbytes_per_s)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000:
            return f"{value:.0f} {unit}/s" if unit == "B" else f"{value:.1f} {unit}/s"
        value /= 1000
    return f"{value:.1f} TB/s"


def format_eta(seconds: float | None) -> str:
    """Format a remaining time as ``H:MM:SS`` or ``M:SS`` (``?`` when unknown).

    Examples
    --------
    >>> format_eta(41)
    '0:41'
    >>> format_eta(3725)
    '1:02:05'
    >>> format_eta(None)
    '?'
    """
    if seconds is None:
        return "?"
    s = int(round(seconds))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class Progress:
    """Progress of a run measured in output chunks written.

    Parameters
    ----------
    total : int
        Number of output chunks of the whole output.
    done : int
        Chunks already written before this run (``--resume``); not counted in the rate.
    enabled : bool
        ``False`` (``--no-progress``) draws nothing.
    stream : file-like, optional
        Where to draw (default ``sys.stderr``); nothing is drawn unless it is a TTY.
    width : int
        Width of the bar in characters.

    Examples
    --------
    >>> import io
    >>> p = Progress(4, stream=io.StringIO())  # not a TTY: silent
    >>> p.advance(1, 1000)
    >>> p.done, p.nbytes, p.stream.getvalue()
    (1, 1000, '')
    >>> p.render(now=p.start + 2.0)
    '[#####···············]  25% | 1/4 chunks | 500 B/s | ETA 0:06'
    """

    def __init__(
        self,
        total: int,
        *,
        done: int = 0,
        enabled: bool = True,
        stream: TextIO | None = None,
        width: int = 20,
    ) -> None:
        self.total = max(int(total), 0)
        self.stream = sys.stderr if stream is None else stream
        isatty = getattr(self.stream, "isatty", None)
        self.active = bool(enabled and isatty is not None and isatty())
        self.width = width
        self.done = self._first = done
        self.nbytes = 0
        self.start = time.monotonic()
        self._last_draw = 0.0

    def render(self, now: float | None = None) -> str:
        """The bar as a string (without carriage return)."""
        now = time.monotonic() if now is None else now
        elapsed = max(now - self.start, 1e-9)
        frac = self.done / self.total if self.total else 1.0
        filled = int(round(frac * self.width))
        bar = "#" * filled + "·" * (self.width - filled)
        rate = self.nbytes / elapsed
        new = self.done - self._first
        eta = elapsed * (self.total - self.done) / new if new else None
        return (
            f"[{bar}] {frac * 100:3.0f}% | {self.done:,}/{self.total:,} chunks | "
            f"{format_bytes_rate(rate)} | ETA {format_eta(eta)}"
        )

    def advance(self, chunks: int = 1, nbytes: int = 0) -> None:
        """Record ``chunks`` more chunks (``nbytes`` uncompressed bytes) written and redraw."""
        self.done += chunks
        self.nbytes += nbytes
        now = time.monotonic()
        if self.active and (now - self._last_draw >= 0.1 or self.done >= self.total):
            self._last_draw = now
            self.stream.write("\r" + self.render(now))
            self.stream.flush()

    def close(self) -> None:
        """End the bar's line (on a terminal)."""
        if self.active:
            self.stream.write("\r" + self.render() + "\n")
            self.stream.flush()
