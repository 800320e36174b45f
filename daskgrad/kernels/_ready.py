"""When the dispatch may use the fused numba kernel: the first calls never wait for it.

Importing numba costs about half a second and compiling the kernel several seconds,
more than a script's or a Dask task's first gradient is worth. So in the default
mode (``DASKGRAD_KERNEL=auto``) a process uses the reference kernel (bit-identical,
``_reference.py``) until the fused kernel is *ready* in it, and gets it ready
without making a caller wait for a compile:

- ready: ``daskgrad.kernels._numba`` is imported in this process (loaded below, or
  imported by anyone else): every supported block goes to it;
- not ready: the block goes to the reference kernel and the time spent there is
  added up. Once a block of ``SPAWN_MIN_SIZE`` elements or more (or reference work of
  ``CHECK_AFTER_S`` in all) has been seen, the on-disk cache is checked (``_stamp.py``,
  at most once a second): if it is warm and the reference has already taken
  ``LOAD_AFTER_S`` in this process -- about what loading costs, so a process never
  pays more than twice the best choice in hindsight -- the kernel is loaded here,
  by the thread that crossed the line (others keep using the reference meanwhile);
  if it is not warm, ONE detached low-priority process (``_warm.py``) is started
  to compile the kernel into numba's cache and write the stamp (a lock lets one
  machine-wide warm-up compile at a time); later checks see the stamp appear.

``DASKGRAD_KERNEL=numba`` loads (and if need be compiles) the fused kernel at the
first call, as before; ``DASKGRAD_KERNEL=reference`` never uses it. Without numba,
every mode uses the reference. Thread-safe: Dask worker threads call concurrently.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from . import _stamp

__all__ = ["ENV", "after_reference", "fast_kernel", "kernel_mode", "load", "state"]

ENV = "DASKGRAD_KERNEL"
_MODES = ("auto", "numba", "reference")
SPAWN_MIN_SIZE = 1 << 18  # a block this big: numba would save time; get it ready
CHECK_AFTER_S = 0.05  # ...or this much reference work in all, in small blocks
LOAD_AFTER_S = 0.5  # reference time after which loading a warm kernel pays off
_CHECK_EVERY_S = 1.0
_RESPAWN_AFTER_S = 900.0  # a warm-up that died without a stamp: try again this late
_MODULE = __package__ + "._numba"


class _State:
    """Per-process readiness (one instance, guarded by ``lock``)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.module: Any = None  # the loaded kernel module
        self.unavailable = False  # numba missing or failing to import
        self.reference_s = 0.0  # time spent in the reference on supported blocks
        self.triggered = False  # a big block seen: checks may start
        self.checked_at = -float("inf")
        self.spawned_at = -float("inf")
        self.child: Any = None  # the warm-up started by this process (pid or Popen)


_STATE = _State()


def kernel_mode() -> str:
    """``DASKGRAD_KERNEL`` (``auto`` when unset), validated.

    Examples
    --------
    >>> kernel_mode() in ("auto", "numba", "reference")
    True
    """
    mode = os.environ.get(ENV, "auto").strip().lower() or "auto"
    if mode not in _MODES:
        raise ValueError(f"{ENV}={os.environ[ENV]!r}: expected one of {', '.join(_MODES)}")
    return mode


def fast_kernel() -> Any:
    """The fused kernel module if the dispatch should use it now, else None.

    Examples
    --------
    >>> import os
    >>> os.environ.get("DASKGRAD_KERNEL") != "reference" or fast_kernel() is None
    True
    """
    mode = kernel_mode()
    if mode == "reference":
        return None
    module = _STATE.module or _imported()
    if module is not None or mode == "auto":
        return module
    return load()


def _imported() -> Any:
    """The kernel module if someone imported it in this process (fully), else None."""
    module = sys.modules.get(_MODULE)
    if module is None or getattr(module.__spec__, "_initializing", False):
        return None  # absent, or being imported by another thread right now
    return module


def load() -> Any:
    """Import the fused kernel in this process (compiling on a cold cache); None
    without numba. Blocks the caller: ``auto`` mode calls it only on a warm cache.

    Examples
    --------
    >>> callable(load)  # load() itself may compile for seconds on a cold cache
    True
    """
    if _STATE.module is None and not _STATE.unavailable:
        try:
            from . import _numba
        except ImportError:
            _STATE.unavailable = True
            return None
        _STATE.module = _numba
    return _STATE.module


def state() -> str:
    """``"loaded"``, ``"pending"`` (a warm-up started by this process runs),
    ``"unavailable"`` (no numba) or ``"reference"`` (none of these yet).

    Examples
    --------
    >>> state() in ("loaded", "pending", "unavailable", "reference")
    True
    """
    if _STATE.module is not None or _imported() is not None:
        return "loaded"
    if _STATE.unavailable:
        return "unavailable"
    return "pending" if _child_running() else "reference"


def after_reference(size: int, seconds: float) -> None:
    """Account a supported block of ``size`` elements that the reference computed in
    ``seconds`` (``auto`` mode), and get the fast kernel ready when it is worth it.

    Examples
    --------
    >>> after_reference(10, 1e-6)  # small work: nothing happens
    """
    st = _STATE
    st.reference_s += seconds
    if size >= SPAWN_MIN_SIZE or st.reference_s >= CHECK_AFTER_S:
        st.triggered = True
    if not st.triggered or st.unavailable or st.module is not None:
        return
    now = time.monotonic()
    if now - st.checked_at < _CHECK_EVERY_S or not st.lock.acquire(blocking=False):
        return  # checked a moment ago, or another thread is checking or loading
    try:
        st.checked_at = now
        _check(st, now)
    finally:
        st.lock.release()


def _check(st: _State, now: float) -> None:
    key = _stamp.cache_key()
    if key is None:
        st.unavailable = True  # no numba installed
        return
    stamp = _stamp.read_stamp(key)
    if stamp is not None:
        if stamp.get("state") != "warm":  # "uncacheable" (numba cannot cache here: a
            st.unavailable = True  # compile per process costs more than the reference
            return  # saves) or "failed"; DASKGRAD_KERNEL=numba forces the fused kernel
        if st.reference_s >= LOAD_AFTER_S:
            load()
        return
    if not _child_running() and now - st.spawned_at >= _RESPAWN_AFTER_S:
        st.spawned_at = now
        st.child = _spawn(key)


def _child_running() -> bool:
    """Whether the warm-up this process started still runs (reaping it if it ended)."""
    child = _STATE.child
    if child is None:
        return False
    try:
        if isinstance(child, int):
            done = os.waitpid(child, os.WNOHANG)[0] != 0
        else:
            done = child.poll() is not None
    except (ChildProcessError, OSError):
        done = True
    if done:
        _STATE.child = None
    return not done


def _spawn(key: str) -> Any:
    """Start ``_warm.py`` detached: new session, no stdio, inheriting the environment
    (``NUMBA_CACHE_DIR`` included); it imports this very package (its parent
    directory goes first on its ``sys.path``). Returns its pid (or Popen), or None."""
    if not sys.executable:
        return None
    root = str(Path(__file__).resolve().parents[2])
    code = (
        f"import sys; sys.path.insert(0, {root!r}); "
        f"from daskgrad.kernels._warm import main; sys.exit(main({key!r}))"
    )
    argv = [sys.executable, "-c", code]
    env = {k: v for k, v in os.environ.items() if k != ENV}
    env["PYTHONWARNINGS"] = "ignore"  # a caller's -W error must not fail the compile
    if hasattr(os, "posix_spawn"):  # no Popen object: no ResourceWarning at exit
        actions = [(os.POSIX_SPAWN_OPEN, fd, os.devnull, os.O_RDWR, 0) for fd in (0, 1, 2)]
        try:
            return os.posix_spawn(sys.executable, argv, env, file_actions=actions, setsid=True)
        except (OSError, NotImplementedError, TypeError):
            pass  # setsid unsupported here: Popen below
    flags = getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0) | getattr(
        subprocess, "DETACHED_PROCESS", 0
    )
    dn = subprocess.DEVNULL
    try:
        return subprocess.Popen(
            argv,
            env=env,
            stdin=dn,
            stdout=dn,
            stderr=dn,
            creationflags=flags,
            start_new_session=True,
        )
    except OSError:
        return None
