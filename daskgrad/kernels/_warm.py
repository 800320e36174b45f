"""The warm-up: compile every specialisation of the fused kernel into numba's cache.

Started by ``_ready.py`` as a detached, low-priority process (``main(key)``); also
runnable by hand, e.g. in a Docker build step after ``pip install``::

    python -m daskgrad.kernels._warm

It takes a machine-wide lock (``fcntl.flock`` on ``_stamp.lock_path``: one
compiling warm-up at a time; the lock goes with the process, however it ends),
checks the stamp again (another warm-up may just have written it), compiles, and
writes the stamp atomically, then appends one line to the log. It always ends by
itself: an alarm stops it after ``_MAX_SECONDS``.

The specialisations are those the dispatch can reach: the output has the data's
dtype (``_plan.output_dtype``); the compute dtype is float64 for float64 data and
float32 or float64 for float32 data (a Python-float or float32 spacing, or a NumPy
float64 one); each serial (Dask tasks) and threaded (in-memory calls).
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from . import _stamp
from ._spec import AxisSpec

__all__ = ["compile_all", "main"]

_MAX_SECONDS = 1800
# (data dtype, spacing): float64/float64, float32/float32, float32/float64 compute.
_CASES = ((np.float64, 1.0), (np.float32, 1.0), (np.float32, np.float64(1.0)))


def compile_all() -> list[str]:
    """Run the fused kernel once per specialisation; the numba index files it uses.

    Returns an empty list if numba could not cache (no writable cache place).
    """
    from . import _numba, _numba_sweep

    big = 4 * _numba._PARALLEL_MIN_SIZE  # threaded only above this size
    for dtype, h in _CASES:
        for parallel in (False, True):
            f = np.ones((big // 64, 64) if parallel else (3, 4), dtype)
            specs = (AxisSpec(0, 2, h=h), AxisSpec(1, 1, h=h))
            out = _numba.try_gradient_block(f, specs, np.dtype(dtype), parallel=parallel)
            if out is None:
                raise RuntimeError(f"the fused kernel declined the warm-up case {dtype}, {h!r}")
    indexes = []
    for disp in (_numba_sweep.sweep_serial, _numba_sweep.sweep_parallel):
        path = _index_path(disp)
        if path is None or not os.path.exists(path):
            return []  # NullCache: numba compiles per process here
        indexes.append(path)
    return indexes


def _index_path(dispatcher: Any) -> str | None:
    """numba's index file of a cached dispatcher (numba internals: None if moved)."""
    cache_file = getattr(getattr(dispatcher, "_cache", None), "_cache_file", None)
    path = getattr(cache_file, "_index_path", None)
    return None if path is None else str(path)


@contextlib.contextmanager
def _locked(key: str) -> Iterator[bool]:
    """Hold the warm-up lock for ``key`` (True), or learn that another holds it."""
    path = _stamp.lock_path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if sys.platform == "win32":
            import msvcrt

            try:
                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            except OSError:
                yield False
                return
            yield True
            return
        import fcntl

        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


def _log(key: str, line: str) -> None:
    with contextlib.suppress(OSError), open(_stamp.log_path(key), "a") as fh:
        fh.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} pid={os.getpid()} {line}\n")


def _lower_priority() -> None:
    """nice 10: the callers' work goes first, yet the warm-up ends on a busy machine."""
    with contextlib.suppress(AttributeError, OSError):
        os.nice(10)


def main(key: str | None = None) -> int:
    """Warm the cache for this installation; the exit status.

    ``key``: the caller's ``_stamp.cache_key()``; a warm-up that imported other
    sources (another copy of the package) does nothing. 0: warm (now or already),
    or another warm-up is compiling; 1: compiling failed (logged); 2: nothing to do
    here (key mismatch, no numba, no writable cache directory). A failure is
    stamped too (``"failed"``): the callers then keep the reference until the
    installation changes (a new key).
    """
    own = _stamp.cache_key()
    if own is None or (key is not None and key != own):
        return 2
    try:
        with _locked(own) as mine:
            stamp = _stamp.read_stamp(own)
            by_hand = key is None  # retries a failed or uncacheable stamp too
            if not mine or (stamp is not None and (not by_hand or stamp["state"] == "warm")):
                return 0
            return _compile_and_stamp(own)
    except OSError:
        return 2


def _compile_and_stamp(key: str) -> int:
    import signal

    _lower_priority()
    if hasattr(signal, "alarm"):
        signal.alarm(_MAX_SECONDS)  # default action: the process ends
    start = time.monotonic()
    try:
        indexes = compile_all()
    except Exception as exc:  # noqa: BLE001 - logged; the callers keep the reference
        error = f"{type(exc).__name__}: {exc}"
        _stamp.write_stamp(key, {"state": "failed", "error": error, "pid": os.getpid()})
        _log(key, f"failed: {error}")
        return 1
    stamp: dict[str, Any] = {"state": "warm" if indexes else "uncacheable", "indexes": indexes}
    stamp["seconds"] = round(time.monotonic() - start, 3)
    stamp["pid"] = os.getpid()
    if not _stamp.write_stamp(key, stamp):
        return 2
    _log(key, f"compiled {stamp['state']} in {stamp['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
