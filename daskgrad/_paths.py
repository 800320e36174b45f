"""Where INPUT and OUTPUT really are: overlap checks and the claim on OUTPUT.

``check_paths`` refuses an OUTPUT that overlaps INPUT however it is spelled: a symlinked
parent, a bind mount (the same device and inode), a symlink inside either tree that
points into the other, a ``file://`` URL, or ``s3://`` keys of one under the other.

``claim_output`` claims OUTPUT for one run before anything is written: a lock file
``.NAME.daskgrad-lock`` beside OUTPUT, created with ``O_EXCL`` and held with ``flock``
for the life of the run (the kernel drops the lock when the process dies, even on
SIGKILL). It records pid, host and start time. A second run on a claimed OUTPUT is a
usage error; the claim of a run that is gone (its ``flock`` free and its pid gone on
this host) is taken over. For URLs the lock is an object written with a create-exclusive
put (``If-None-Match: *`` on S3), which is atomic where the store honours it; a run
elsewhere can only be seen by its lock, never proven dead.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import socket
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote, urlsplit

from ._usage import UsageError

try:
    import fcntl
except ImportError:  # Windows: the O_EXCL file and its pid alone
    fcntl = None  # type: ignore[assignment]

__all__ = ["check_paths", "claim_output", "claims", "input_files", "normalise"]

_ALIASES = {"s3a": "s3", "s3n": "s3", "gcs": "gs"}
_GLOB_CHARS = set("*?[")


def normalise(spec: str) -> str:
    """A local absolute path for a path or ``file://`` URL; other URLs canonical.

    Examples
    --------
    >>> normalise("file:///data/era5.zarr/")
    '/data/era5.zarr'
    >>> normalise("file://localhost/data/a%20b.nc")
    '/data/a b.nc'
    >>> normalise("S3A://bucket/era5.zarr/")
    's3://bucket/era5.zarr'
    """
    if "://" not in spec:
        return os.path.abspath(spec)
    protocol, rest = spec.split("://", 1)
    protocol = _ALIASES.get(protocol.lower(), protocol.lower())
    if protocol == "file":
        host = urlsplit(spec).netloc
        if host not in ("", "localhost"):
            raise UsageError(f"{spec}: a file:// URL names a local path (file:///path)")
        return os.path.abspath(unquote(urlsplit(spec).path) or "/")
    return f"{protocol}://{rest.rstrip('/')}"


def input_files(spec: str) -> list[str]:
    """INPUT's local paths (every file of a glob), or ``[url]`` for a remote store.

    Examples
    --------
    >>> input_files("s3://bucket/era5.zarr")
    ['s3://bucket/era5.zarr']
    """
    path = normalise(spec)
    if "://" in path:
        if _GLOB_CHARS & set(path):
            raise UsageError(f"{spec}: a glob of URLs is not supported; give one Zarr store")
        return [path]
    found = sorted(glob.glob(path)) if _GLOB_CHARS & set(path) else [path]
    if not found or not os.path.exists(found[0]):
        raise UsageError(f"input not found: {spec}")
    return [os.path.abspath(p) for p in found]


# ---------------------------------------------------------------- overlap
def _ident(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _chain(path: str) -> set[tuple[int, int]]:
    """(device, inode) of ``path`` (resolved) and every existing ancestor."""
    out: set[tuple[int, int]] = set()
    current = os.path.realpath(path)
    while True:
        ident = _ident(current)
        if ident is not None:
            out.add(ident)
        parent = os.path.dirname(current)
        if parent == current:
            return out
        current = parent


def _tree(path: str) -> tuple[set[tuple[int, int]], list[str]]:
    """(device, inode) of every directory under ``path`` (mounts included, symlinks not
    followed) and the resolved targets of the symlinks in it."""
    dirs: set[tuple[int, int]] = set()
    links: list[str] = []
    if not os.path.isdir(path) or os.path.islink(path):
        return dirs, links
    for root, dirnames, filenames in os.walk(path):
        ident = _ident(root)
        if ident is not None:
            dirs.add(ident)
        for name in dirnames + filenames:
            full = os.path.join(root, name)
            if os.path.islink(full):
                links.append(os.path.realpath(full))
    return dirs, links


def _nested(a: str, b: str) -> bool:
    """Whether ``a`` is ``b``, inside it, or holds it (by device and inode)."""
    ia, ib = _ident(a), _ident(b)
    return (ia is not None and ia in _chain(b)) or (ib is not None and ib in _chain(a))


def _local_overlap(src: str, output: str) -> str | None:
    if _nested(src, output):
        return "is INPUT, inside it, or holds it"
    in_dirs, in_links = _tree(os.path.realpath(src))
    if in_dirs & _chain(output):
        return "lies inside INPUT through a mount"
    if any(_nested(target, output) for target in in_links):
        return "is reached from INPUT through a symlink"
    out_dirs, out_links = _tree(output)
    if out_dirs & _chain(src):
        return "holds INPUT through a mount"
    if any(_nested(target, src) for target in out_links):
        return "holds a symlink into INPUT"
    return None


def _url_overlap(src: str, output: str) -> bool:
    a, b = src.rstrip("/") + "/", output.rstrip("/") + "/"
    return a.startswith(b) or b.startswith(a)


def check_paths(input_spec: str, output_spec: str) -> None:
    """Refuse an OUTPUT that is, holds or lies inside INPUT (or any file of its glob).

    Raises
    ------
    UsageError
        On any overlap, or when OUTPUT is a symbolic link.

    Examples
    --------
    >>> import tempfile, os
    >>> d = tempfile.mkdtemp(); os.mkdir(os.path.join(d, "in.zarr"))
    >>> check_paths(os.path.join(d, "in.zarr"), os.path.join(d, "out.zarr"))
    >>> check_paths(os.path.join(d, "in.zarr"), "file://" + d + "/in.zarr/sub")
    Traceback (most recent call last):
    ...
    daskgrad._usage.UsageError: OUTPUT file://.../in.zarr/sub would overwrite INPUT ...
    """
    output = normalise(output_spec)
    if "://" not in output and os.path.islink(output):
        raise UsageError(
            f"OUTPUT {output_spec} is a symbolic link (to {os.path.realpath(output)}); "
            "give the path it points to, or another path"
        )
    for src in input_files(input_spec):
        if ("://" in src) != ("://" in output):
            continue
        why = (
            ("is INPUT, inside it, or holds it" if _url_overlap(src, output) else None)
            if "://" in src
            else _local_overlap(src, output)
        )
        if why:
            raise UsageError(
                f"OUTPUT {output_spec} would overwrite INPUT {src}: it {why}; "
                "nothing was written, choose another OUTPUT"
            )


# ---------------------------------------------------------------- the claim
def _alive(pid: int, started: float) -> bool:
    """Whether ``pid`` is a process on this host that began before ``started``
    (a later one with the same pid is another program)."""
    import psutil  # a dependency of distributed

    try:
        return psutil.Process(pid).create_time() <= started + 1.0
    except (psutil.NoSuchProcess, ValueError):
        return False
    except psutil.Error:  # exists, but cannot be inspected: assume it is the run
        return True


def _record() -> bytes:
    record = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}
    return json.dumps(record).encode()


def _busy(output: str, holder: dict[str, Any], lock: str) -> UsageError:
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(float(holder.get("started", 0))))
    return UsageError(
        f"{output} is being written by another daskgrad run (pid {holder.get('pid')} on "
        f"{holder.get('host')}, since {when}); wait for it, or remove {lock} if that run is gone"
    )


class Claim:
    """One run's claim on OUTPUT; :meth:`release` gives it up (idempotent)."""

    def __init__(self, lock: str, fd: int | None = None, fs: Any = None) -> None:
        self.lock, self.fd, self.fs = lock, fd, fs
        self.made_dirs: list[str] = []
        self.released = False

    def release(self) -> None:
        if self.released:
            return
        self.released = True
        if self.fs is not None:
            with contextlib.suppress(Exception):
                self.fs.rm(self.lock)
            return
        with contextlib.suppress(OSError):
            os.unlink(self.lock)  # unlinked while still locked: a waiter sees a new inode
        if self.fd is not None:
            os.close(self.fd)
        for path in self.made_dirs:  # parents this run made, if nothing else went there
            with contextlib.suppress(OSError):
                os.rmdir(path)


def _lock_path(output: str) -> str:
    parent, name = output.rstrip("/").rsplit("/", 1)
    return f"{parent}/.{name}.daskgrad-lock"


def _claim_local(output: str) -> Claim:
    lock = _lock_path(output)
    made: list[str] = []
    parent = os.path.dirname(lock)
    while not os.path.isdir(parent):
        made.append(parent)
        parent = os.path.dirname(parent)
    os.makedirs(os.path.dirname(lock), exist_ok=True)
    for _ in range(20):
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
            created = True
        except FileExistsError:
            try:
                fd = os.open(lock, os.O_RDWR)
            except FileNotFoundError:
                continue  # released meanwhile: try to create it again
            created = False
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = _read_holder(fd)
            os.close(fd)
            raise _busy(output, holder, lock) from None
        st = os.fstat(fd)
        if _ident(lock) != (st.st_dev, st.st_ino):
            os.close(fd)  # the file we locked was released and unlinked: start over
            continue
        if not created:
            holder = _read_holder(fd)
            same_host = holder.get("host") == socket.gethostname()
            if holder and not same_host:
                os.close(fd)
                raise _busy(output, holder, lock)
            if holder and _alive(int(holder.get("pid", -1)), float(holder.get("started", 0))):
                os.close(fd)
                raise _busy(output, holder, lock)
        os.ftruncate(fd, 0)
        os.pwrite(fd, _record(), 0)
        claim = Claim(lock, fd)
        claim.made_dirs = made
        return claim
    raise UsageError(f"could not claim {output}: its lock {lock} keeps changing")


def _read_holder(fd: int) -> dict[str, Any]:
    try:
        return json.loads(os.pread(fd, 4096, 0) or b"{}")
    except ValueError:
        return {}


def _create(fs: Any, path: str, data: bytes) -> None:
    """Write ``path`` only if absent: atomic where the store has create-exclusive writes
    (S3's ``If-None-Match: *``), else check-then-write (best effort).

    The existence check comes first in either case: an older client or server may accept
    ``"xb"`` and overwrite (s3fs 2025.5 with moto 5.1 did), so the conditional put only
    settles a race between two writers that both found the path absent.
    """
    if fs.exists(path):
        raise FileExistsError(path)
    try:
        with fs.open(path, "xb") as f:
            f.write(data)
    except (ValueError, NotImplementedError, TypeError):  # no "x" mode on this store
        if fs.exists(path):
            raise FileExistsError(path) from None
        fs.pipe_file(path, data)


def _claim_url(output: str, storage_options: dict[str, Any]) -> Claim:
    import fsspec

    fs, _ = fsspec.core.url_to_fs(output, **storage_options)
    lock = _lock_path(output)
    for attempt in range(2):
        try:
            _create(fs, lock, _record())
            return Claim(lock, fs=fs)
        except FileExistsError:
            try:
                holder = json.loads(fs.cat_file(lock))
            except Exception:  # unreadable or gone meanwhile
                holder = {}
            here = holder.get("host") == socket.gethostname()
            stale = here and not _alive(int(holder.get("pid", -1)), float(holder.get("started", 0)))
            if attempt or not stale:
                raise _busy(output, holder, lock) from None
            fs.rm(lock)  # a dead run of this host: take its claim over
    raise AssertionError("unreachable")


_ACTIVE: list[list[Claim]] = []


@contextlib.contextmanager
def claims() -> Iterator[list[Claim]]:
    """Release every claim taken inside the block when it ends (success or failure)."""
    taken: list[Claim] = []
    _ACTIVE.append(taken)
    try:
        yield taken
    finally:
        _ACTIVE.remove(taken)
        for claim in reversed(taken):
            claim.release()


def claim_output(output_spec: str, storage_options: dict[str, Any] | None = None) -> Claim:
    """Claim OUTPUT for this run (see the module docstring); released with :func:`claims`.

    Raises
    ------
    UsageError
        When another live run holds OUTPUT.

    Examples
    --------
    >>> import tempfile, os
    >>> out = os.path.join(tempfile.mkdtemp(), "out.zarr")
    >>> with claims():
    ...     first = claim_output(out)
    ...     claim_output(out)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    daskgrad._usage.UsageError: ...out.zarr is being written by another daskgrad run ...
    >>> os.path.exists(first.lock)
    False
    """
    output = normalise(output_spec)
    claim = _claim_url(output, storage_options or {}) if "://" in output else _claim_local(output)
    if _ACTIVE:
        _ACTIVE[-1].append(claim)
    return claim
