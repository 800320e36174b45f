"""Whether numba's on-disk cache holds the fused kernel, told without importing numba.

The warm-up (``_warm.py``) compiles every specialisation the dispatch uses into
numba's cache, then writes a *stamp*: a small JSON file named after a key of
everything the cached code depends on (the kernel sources -- path, size, mtime,
content -- numba's installation, the Python interpreter and the machine type) and
listing numba's index files for the kernel. A stamp with this process's key whose
index files all exist says the cache is warm: importing the kernel then costs
numba's import and a few cache loads, never a compile. A changed source file, a
reinstall (new mtimes, which also invalidate numba's own entries), another numba
or a deleted cache gives another key or a missing index: not warm.

Where: ``$NUMBA_CACHE_DIR/daskgrad`` when that variable is set (numba then caches
there too), else the user's cache directory (``$XDG_CACHE_HOME`` or ``~/.cache``,
``%LOCALAPPDATA%`` on Windows) ``/daskgrad``; never inside the installed package,
so a read-only install works. Nothing here raises: an unreadable or unwritable place
reads as "not warm".
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import platform
import sys
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["cache_key", "log_path", "lock_path", "read_stamp", "stamp_dir", "write_stamp"]

KERNELS = Path(__file__).resolve().parent
SOURCES = ("_numba.py", "_numba_sweep.py", "_fpe.py", "_layout.py", "_spec.py")
_KEY: list[str | None] = []  # computed once per process


def stamp_dir() -> Path:
    """The directory of the stamps, lock and log (not created here).

    Examples
    --------
    >>> stamp_dir().name
    'daskgrad'
    """
    base = os.environ.get("NUMBA_CACHE_DIR")
    if base:
        return Path(base) / "daskgrad"
    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / "daskgrad" / "cache"
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(xdg) / "daskgrad"


def _numba_origin() -> list[str] | None:
    """numba's installation as key material (path, size and mtime), or None if absent."""
    try:
        spec = importlib.util.find_spec("numba")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin:
        return None
    root = Path(spec.origin).parent
    parts = [str(root)]
    for name in ("__init__.py", "_version.py"):
        try:
            st = (root / name).stat()
        except OSError:
            continue
        parts.append(f"{name}:{st.st_size}:{st.st_mtime_ns}")
    return parts


def cache_key() -> str | None:
    """The key of the kernel's cached code in this process; None without numba.

    Examples
    --------
    >>> key = cache_key()
    >>> key is None or len(key) == 24
    True
    """
    if not _KEY:
        _KEY.append(_compute_key())
    return _KEY[0]


def _compute_key() -> str | None:
    origin = _numba_origin()
    if origin is None:
        return None
    from daskgrad import __version__

    h = hashlib.sha256()
    material = [__version__, sys.version, sys.executable, platform.machine(), *origin]
    for name in SOURCES:
        path = KERNELS / name
        try:
            st = path.stat()
            data = path.read_bytes()
        except OSError:
            return None
        material.append(f"{path}:{st.st_size}:{st.st_mtime_ns}")
        h.update(data)
    h.update("\0".join(material).encode())
    return h.hexdigest()[:24]


def _path(key: str, suffix: str) -> Path:
    return stamp_dir() / f"warm-{key}{suffix}"


def lock_path(key: str) -> Path:
    """The lock file that one warm-up at a time holds (``fcntl.flock``)."""
    return _path(key, ".lock")


def log_path(key: str) -> Path:
    """The log: one line per warm-up that compiled (or failed), for users and tests."""
    return _path(key, ".log")


def read_stamp(key: str) -> dict[str, Any] | None:
    """The stamp for ``key`` if it says the cache is warm (or cannot be), else None.

    A stamp has ``"state"``: ``"warm"`` (every listed numba index file must exist),
    ``"uncacheable"`` (numba found no writable cache place) or ``"failed"`` (the
    compile raised): for these two, do not retry.

    Examples
    --------
    >>> read_stamp("0" * 24) is None
    True
    """
    try:
        stamp = json.loads(_path(key, ".json").read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(stamp, dict) or stamp.get("key") != key:
        return None
    if stamp.get("state") == "warm":
        indexes = stamp.get("indexes") or []
        if not all(os.path.exists(p) for p in indexes):
            return None
    return stamp


def write_stamp(key: str, stamp: dict[str, Any]) -> bool:
    """Write the stamp atomically (a temporary file renamed over it); False if unwritable."""
    target = _path(key, ".json")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".stamp-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as fh:
                json.dump({**stamp, "key": key}, fh)
            os.replace(tmp, target)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError:
        return False
    return True
