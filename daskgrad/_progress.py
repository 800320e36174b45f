"""What the ``daskgrad`` command shows while it runs: a status line, then a progress bar.

:class:`Status` shows a spinner with what the command is doing (opening INPUT,
starting the cluster, building the graph) from the first moment of the run;
:class:`Progress` takes its line over with a bar drawn by `tqdm
<https://tqdm.github.io>`_ (which erases what a shorter redraw leaves, fits the
line to the terminal's width, and throttles redraws): chunks done, throughput,
and an ETA once there is something to base one on.

Both draw only on a terminal: when the stream is not a TTY (a log file, a pipe, CI),
when they are disabled (``--no-progress``), or when tqdm is not installed, nothing is
drawn and text written through a :class:`Status` passes straight on, so batch logs
stay clean.
"""

from __future__ import annotations

import threading
import time
from typing import Any, TextIO

__all__ = ["Progress", "Status", "format_bytes_rate", "format_eta"]

_SPIN = "-\\|/"
_TICK = 0.2  # seconds between redraws of a spinner or an idle bar

#: no ETA before this many chunks of this run are written ...
ETA_MIN_CHUNKS = 4
#: ... and this many seconds have passed since the first of them
ETA_MIN_SECONDS = 3.0


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


def _is_tty(stream: Any) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty is not None and isatty())
    except ValueError:  # a closed file
        return False


def _tqdm() -> Any:
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm


class Status:
    """A spinner line saying what the command is doing, until a :class:`Progress` starts.

    A file-like wrapper of ``stream``: text written through it (``print(..., file=status)``)
    appears above the spinner line, which is redrawn under it. Use it as a context
    manager; on exit the spinner line is erased, and a :class:`Progress` drawing through
    it is closed (its line ended), so that an error message starts on a line of its own.

    Parameters
    ----------
    text : str
        What is being done, e.g. ``"starting"``.
    enabled : bool
        ``False`` (``--no-progress``) draws nothing.
    stream : file-like, optional
        Where to draw (default ``sys.stderr``); nothing is drawn unless it is a TTY.

    Examples
    --------
    >>> import io
    >>> with Status("starting", stream=io.StringIO()) as status:  # not a TTY: no spinner
    ...     print("cluster: 1 workers", file=status)
    ...     status.say("building the graph")
    >>> status.stream.getvalue()
    'cluster: 1 workers\\n'
    """

    def __init__(self, text: str, *, enabled: bool = True, stream: TextIO | None = None) -> None:
        import sys

        self.stream = sys.stderr if stream is None else stream
        self.active = bool(enabled and _is_tty(self.stream))
        self.text = text
        self.start = time.monotonic()
        self._lock = threading.RLock()
        self._shown = 0  # length of the spinner line on the screen (0: none)
        self._line_start = True  # the last text written through ended its line
        self._stop = threading.Event()
        self._progress: Progress | None = None
        self._thread: threading.Thread | None = None
        if self.active:
            self._draw()
            self._thread = threading.Thread(target=self._spin, name="daskgrad-status", daemon=True)
            self._thread.start()

    # -- file-like
    def write(self, text: str) -> int:
        """Write ``text`` above the spinner line."""
        with self._lock:
            self._erase()
            self.stream.write(text)
            if text:
                self._line_start = text.endswith("\n")
        return len(text)

    def flush(self) -> None:
        """Flush the underlying stream."""
        self.stream.flush()

    def isatty(self) -> bool:
        """Whether the underlying stream is a terminal."""
        return _is_tty(self.stream)

    # -- the spinner
    def say(self, text: str) -> None:
        """Show ``text`` as what is being done now."""
        with self._lock:
            self.text = text
            self._draw()

    def handoff(self, progress: Progress) -> TextIO:
        """Stop the spinner for ``progress``, which draws on the returned stream from now."""
        self._halt()
        self._progress = progress
        return self.stream

    def close(self) -> None:
        """Erase the spinner line; end the line of a :class:`Progress` drawn through it."""
        self._halt()
        if self._progress is not None:
            self._progress.close()

    def __enter__(self) -> Status:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _halt(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
        with self._lock:
            self.active = False
            self._erase()

    def _spin(self) -> None:
        while not self._stop.wait(_TICK):
            with self._lock:
                if not self._stop.is_set():
                    self._draw()

    def _line(self) -> str:
        elapsed = time.monotonic() - self.start
        spin = _SPIN[int(elapsed / _TICK) % len(_SPIN)]
        return f"{spin} {self.text} ({format_eta(elapsed)})"

    def _draw(self) -> None:
        if not self.active or not self._line_start:
            return
        line = self._line()
        self.stream.write("\r" + line + " " * max(self._shown - len(line), 0))
        self.stream.flush()
        self._shown = len(line)

    def _erase(self) -> None:
        if self._shown:
            self.stream.write("\r" + " " * self._shown + "\r")
            self.stream.flush()
            self._shown = 0


#: tqdm's bar format: its bar, percentage and counts, then :meth:`Progress.status`
_FORMAT = "[{bar:20}] {percentage:3.0f}% | {n:,}/{total:,} chunks | {status}"
_ASCII = "·#"  # tqdm's bar characters: empty, then full (ASCII-only terminals draw it too)


class Progress:
    """Progress of a run measured in output chunks written, drawn by tqdm.

    Parameters
    ----------
    total : int
        Number of output chunks of the whole output.
    done : int
        Chunks already written before this run (``--resume``); not counted in the rate.
    enabled : bool
        ``False`` (``--no-progress``) draws nothing.
    stream : file-like, optional
        Where to draw (default ``sys.stderr``); nothing is drawn unless it is a TTY. A
        :class:`Status` hands its line over (its spinner stops).

    Notes
    -----
    The throughput is the average since the bar appeared. The ETA is the rate since the
    first chunk of this run applied to the chunks left; it is shown only once
    :data:`ETA_MIN_CHUNKS` chunks are written and :data:`ETA_MIN_SECONDS` seconds have
    passed since the first (the first chunks also wait for the cluster to warm up, so an
    ETA from them is far off). Until the first chunk the bar says so, with a spinner;
    it is redrawn a few times a second, so the elapsed time moves.

    Examples
    --------
    >>> import io
    >>> p = Progress(8, stream=io.StringIO())  # not a TTY: silent
    >>> p.advance(1, 1000)
    >>> p.done, p.nbytes, p.stream.getvalue()
    (1, 1000, '')
    >>> p.render(now=p.start + 2.0)
    '[##··················]  12% | 1/8 chunks | 500 B/s'
    >>> p.advance(4, 4000)
    >>> p.render(now=p._first_at + 4.0)  # 4 chunks in 4 s after the first: 3 left, 3 s
    '[############········]  62% | 5/8 chunks | 1.2 kB/s | ETA 0:03'
    """

    def __init__(
        self,
        total: int,
        *,
        done: int = 0,
        enabled: bool = True,
        stream: TextIO | None = None,
    ) -> None:
        import sys

        self.total = max(int(total), 0)
        stream = sys.stderr if stream is None else stream
        tqdm = _tqdm()
        self.active = bool(enabled and tqdm is not None and _is_tty(stream))
        handoff = getattr(stream, "handoff", None)
        self.stream: Any = handoff(self) if handoff is not None else stream
        self.done = self._first = done
        self.nbytes = 0
        self.start = time.monotonic()
        self._first_at: float | None = None  # when this run's first chunk was written
        self._lock = threading.RLock()
        self._closed = threading.Event()
        self._bar: Any = None
        if self.active:
            owner = self

            # tqdm's documented way to add fields to bar_format; the class is imported
            # when needed (optional), so it is a variable to mypy:
            class _Bar(tqdm):  # type: ignore[misc,valid-type]
                @property
                def format_dict(self) -> dict[str, Any]:
                    return {**super().format_dict, "status": owner.status()}

            self._bar = _Bar(
                total=self.total,
                initial=done,
                file=self.stream,
                bar_format=_FORMAT,
                ascii=_ASCII,
                dynamic_ncols=True,
                mininterval=0.1,
                leave=True,
            )
            threading.Thread(target=self._tick, name="daskgrad-progress", daemon=True).start()

    def eta(self, now: float | None = None) -> float | None:
        """Seconds left, or ``None`` while too little is done to tell."""
        now = time.monotonic() if now is None else now
        if self.done >= self.total:
            return 0.0
        new = self.done - self._first
        if self._first_at is None or new < ETA_MIN_CHUNKS:
            return None
        since = now - self._first_at
        if since < ETA_MIN_SECONDS:
            return None
        return since / (new - 1) * (self.total - self.done)

    def status(self, now: float | None = None) -> str:
        """What follows the counts: throughput and ETA, or a spinner before the first chunk."""
        now = time.monotonic() if now is None else now
        elapsed = now - self.start
        if self.done == self._first and self.done < self.total:
            spin = _SPIN[int(elapsed / _TICK) % len(_SPIN)]
            return f"computing {spin} ({format_eta(elapsed)})"
        text = format_bytes_rate(self.nbytes / max(elapsed, 1e-9))
        eta = self.eta(now)
        return text if eta is None else f"{text} | ETA {format_eta(eta)}"

    def render(self, now: float | None = None) -> str:
        """The line as tqdm draws it (without carriage return), at its fixed bar width."""
        now = time.monotonic() if now is None else now
        return _tqdm().format_meter(
            self.done,
            self.total,
            now - self.start,
            bar_format=_FORMAT,
            ascii=_ASCII,
            status=self.status(now),
        )

    def advance(self, chunks: int = 1, nbytes: int = 0) -> None:
        """Record ``chunks`` more chunks (``nbytes`` uncompressed bytes) written and redraw."""
        with self._lock:
            if self._first_at is None and chunks:
                self._first_at = time.monotonic()
            self.done += chunks
            self.nbytes += nbytes
            if self._bar is not None and not self._closed.is_set():
                self._bar.update(chunks)  # tqdm redraws at most every 0.1 s

    def close(self) -> None:
        """End the bar's line (on a terminal); later calls do nothing."""
        with self._lock:
            if self._closed.is_set():
                return
            self._closed.set()
            if self._bar is not None:
                self._bar.close()  # draws the last state, then ends the line

    def _tick(self) -> None:  # keeps the spinner and the elapsed time moving
        while not self._closed.wait(_TICK):
            with self._lock:
                if not self._closed.is_set():
                    self._bar.refresh()
