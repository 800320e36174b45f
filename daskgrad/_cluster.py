"""Where the ``daskgrad`` command runs, and how it streams its output there.

:func:`connect` starts an embedded :class:`distributed.LocalCluster` whose scheduler,
workers and dashboard listen on 127.0.0.1 only, or joins an existing cluster with
``--scheduler ADDRESS`` (dask-jobqueue, Kubernetes, Coiled: anything with a scheduler
address), with TLS when the address starts with ``tls://``.
:func:`stream_to_zarr` then sends the output's blocks to it in bounded batches, each
task writing its block into its own Zarr chunk (:func:`write_block`);
:func:`pending_blocks` lists the blocks still missing for ``--resume``.
"""

from __future__ import annotations

import contextlib
import functools
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TextIO

import numpy as np

from ._compat import module_available

__all__ = [
    "ClusterOptions",
    "UsageError",
    "connect",
    "pending_blocks",
    "stream_to_zarr",
    "write_block",
]


class UsageError(ValueError):
    """A bad command line or input: the command exits with status 2 and one line."""


@dataclass(frozen=True)
class ClusterOptions:
    """What ``daskgrad gradient`` was asked to run on (validated by :meth:`check`).

    Examples
    --------
    >>> ClusterOptions(workers=2, memory_limit="1GiB").check().memory_limit
    '1GiB'
    >>> ClusterOptions(workers=0).check()
    Traceback (most recent call last):
    ...
    daskgrad._cluster.UsageError: --workers must be at least 1, got 0
    """

    scheduler: str | None = None
    workers: int | None = None
    threads_per_worker: int | None = None
    memory_limit: str | None = None
    dashboard: bool = True
    tls_ca: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None

    def check(self) -> ClusterOptions:
        """Raise :class:`UsageError` for options that cannot work; return ``self``."""
        for flag, value in (
            ("--workers", self.workers),
            ("--threads-per-worker", self.threads_per_worker),
        ):
            if value is not None and value < 1:
                raise UsageError(f"{flag} must be at least 1, got {value}")
        if self.memory_limit is not None:
            _parse_memory(self.memory_limit)
        tls = [f for f in (self.tls_ca, self.tls_cert, self.tls_key) if f is not None]
        if self.scheduler is None:
            if tls:
                raise UsageError("--tls-ca/--tls-cert/--tls-key need --scheduler tls://...")
            return self
        local = ("--workers", self.workers), ("--threads-per-worker", self.threads_per_worker)
        for flag, value in (*local, ("--memory-limit", self.memory_limit)):
            if value is not None:
                raise UsageError(
                    f"{flag} configures a local cluster; it cannot be used with "
                    "--scheduler (size the remote cluster where you started it)"
                )
        if self.scheduler.startswith("tls://"):
            if len(tls) != 3:
                raise UsageError("a tls:// scheduler needs --tls-ca, --tls-cert and --tls-key")
            for path in tls:
                if not os.path.isfile(path):
                    raise UsageError(f"TLS file not found: {path}")
        elif tls:
            raise UsageError(
                f"--tls-* given but the scheduler address {self.scheduler!r} is not tls://"
            )
        return self


def _parse_memory(text: str) -> int:
    from dask.utils import parse_bytes

    if text.strip().lower() == "auto":
        return 0
    try:
        value = parse_bytes(text)
    except (ValueError, TypeError):
        value = -1
    if value <= 0:
        raise UsageError(f"--memory-limit: expected a size such as 2GiB or 512MB, got {text!r}")
    return value


def _security(opts: ClusterOptions) -> Any:
    if not (opts.scheduler or "").startswith("tls://"):
        return None
    from distributed.security import Security

    return Security(
        tls_ca_file=opts.tls_ca,
        tls_client_cert=opts.tls_cert,
        tls_client_key=opts.tls_key,
        require_encryption=True,
    )


def _local_cluster(opts: ClusterOptions, log: TextIO) -> Any:
    import logging

    from distributed import LocalCluster

    dashboard = opts.dashboard and module_available("bokeh")
    if opts.dashboard and not dashboard:
        print("dashboard: off (install bokeh to get one)", file=log)
    kwargs: dict[str, Any] = {}
    if opts.memory_limit is not None:
        kwargs["memory_limit"] = opts.memory_limit
    cluster = LocalCluster(
        host="127.0.0.1",
        scheduler_port=0,
        n_workers=opts.workers,
        threads_per_worker=opts.threads_per_worker,
        processes=True,
        # the scheduler's HTTP server (health, metrics, and the dashboard when asked for)
        # always listens on a free port of 127.0.0.1
        dashboard_address="127.0.0.1:0",
        scheduler_kwargs={"dashboard": dashboard},
        silence_logs=logging.ERROR,
        **kwargs,
    )
    if dashboard:
        print(f"dashboard: {cluster.dashboard_link}", file=log)
    return cluster


def _imports_plugin() -> Any:
    """A worker plugin that imports what tasks need before a (new) worker runs any.

    A fresh worker (a restarted one too) otherwise imports zarr in a task thread while
    its event loop unpickles zarr-backed data, and Python's import locks can deadlock
    (``_DeadlockError`` on ``zarr.core.array``). Defined here so that cloudpickle sends
    the class by value: workers need only daskgrad itself.
    """
    from distributed import WorkerPlugin

    class ImportOnStart(WorkerPlugin):
        name = "daskgrad-imports"

        def setup(self, worker: Any) -> None:
            import importlib

            for module in (
                "zarr",
                "zarr.core.array",
                "xarray",
                "daskgrad.chunked",
                "daskgrad.kernels",
                "daskgrad.kernels._numba",
            ):
                with contextlib.suppress(ImportError):
                    importlib.import_module(module)

    return ImportOnStart()


@contextlib.contextmanager
def connect(opts: ClusterOptions, log: TextIO) -> Iterator[Any]:
    """Yield a :class:`distributed.Client` for ``opts``; close what was started on exit.

    Parameters
    ----------
    opts : ClusterOptions
        Validated options.
    log : file-like
        Where to print the dashboard address and cluster size.

    Examples
    --------
    >>> import io
    >>> with connect(ClusterOptions(workers=1, threads_per_worker=1, dashboard=False),
    ...              io.StringIO()) as client:  # doctest: +SKIP
    ...     client.submit(sum, [1, 2]).result()
    3
    """
    from distributed import Client

    with contextlib.ExitStack() as stack:
        if opts.scheduler is None:
            cluster = stack.enter_context(_local_cluster(opts, log))
            client = stack.enter_context(Client(cluster))
        else:
            client = stack.enter_context(
                Client(opts.scheduler, security=_security(opts), timeout="30s")
            )
            print(f"scheduler: {opts.scheduler}", file=log)
        client.register_plugin(_imports_plugin())
        nthreads = sum(client.nthreads().values())
        print(f"cluster: {len(client.nthreads())} workers, {nthreads} threads", file=log)
        yield client


def existing_chunk_keys(path: str, name: str) -> tuple[set[str], Any]:
    """The chunk keys present in OUTPUT's array ``name``, and the array itself."""
    import zarr
    from zarr.core.sync import sync

    array = zarr.open_group(path, mode="r")[name]
    store = array.store_path.store
    prefix = array.store_path.path.rstrip("/") + "/"

    async def listing() -> list[str]:
        return [key async for key in store.list_prefix(prefix)]

    return {k[len(prefix) :] for k in sync(listing())}, array


@functools.lru_cache(maxsize=64)
def _output_array(path: str, name: str, run: str) -> Any:
    import zarr

    return zarr.open_array(path, path=name, mode="r+", config={"write_empty_chunks": True})


def write_block(
    block: np.ndarray, path: str, name: str, region: tuple[slice, ...], run: str = ""
) -> int:
    """Write one computed block into its Zarr chunk of OUTPUT (runs on a worker).

    ``run`` identifies the run, so a worker reopens the array for each new run.
    Returns the number of bytes written (uncompressed).
    """
    _output_array(path, name, run)[region] = block
    return int(block.nbytes)


def _blocks_of(name: str, data: Any, done: set[str], encode: Any) -> list[tuple]:
    starts = [np.concatenate([[0], np.cumsum(c)]) for c in data.chunks]
    out = []
    for idx in np.ndindex(*data.numblocks):
        if done and encode(idx) in done:
            continue
        region = tuple(slice(int(s[i]), int(s[i + 1])) for s, i in zip(starts, idx, strict=True))
        out.append((idx, name, (data.name, *idx), region))
    return out


def pending_blocks(result: Any, path: str, resume: bool) -> tuple[list[tuple], int]:
    """Blocks still to write (all, or with ``resume`` those whose chunk is missing).

    Returns ``(blocks, total)``: each block is ``(index, name, dask key, region)``,
    ordered by block index so that the variables of one block are computed together;
    ``total`` counts every chunk of the output.
    """
    blocks, total = [], 0
    for name, var in result.data_vars.items():
        done, array = existing_chunk_keys(path, str(name)) if resume else (set(), None)
        encode = array.metadata.encode_chunk_key if array is not None else None
        blocks += _blocks_of(str(name), var.data, done, encode)
        total += int(np.prod(var.data.numblocks))
    blocks.sort(key=lambda b: b[0])
    return blocks, total


def stream_to_zarr(
    client: Any, result: Any, path: str, blocks: list[tuple], progress: Any, batch_size: int
) -> None:
    """Compute ``blocks`` of ``result`` on ``client`` and write each into its chunk of ``path``.

    Blocks go to the cluster in batches of ``batch_size``, at most two batches in
    flight: memory is bounded by the batch (chunk size × workers), not by the
    dataset. A batch shares its halo reads; a worker that dies is replaced and its
    tasks are recomputed by distributed (a rewritten chunk has the same bytes).
    """
    from dask._task_spec import Task, TaskRef
    from dask.base import collections_to_expr, tokenize
    from dask.optimization import cull
    from distributed import as_completed

    arrays = [var.data for var in result.data_vars.values()]
    itemsize = {str(k): np.dtype(v.dtype).itemsize for k, v in result.data_vars.items()}
    graph = dict(collections_to_expr(arrays, optimize_graph=True).__dask_graph__())
    run = "daskgrad-write-" + tokenize(path, [a.name for a in arrays], time.time())
    batches = iter([blocks[i : i + batch_size] for i in range(0, len(blocks), batch_size)])
    pending = as_completed()

    def submit_next() -> int:
        batch = next(batches, None)
        if batch is None:
            return 0
        sub, _ = cull(graph, [key for _, _, key, _ in batch])
        keys = []
        for idx, name, key, region in batch:
            wkey = (f"{run}-{name}", *idx)
            sub[wkey] = Task(wkey, write_block, TaskRef(key), path, name, region, run)
            keys.append(wkey)
        pending.update(client.get(sub, keys, sync=False))
        return len(batch)

    nbytes = {
        wkey: int(np.prod([r.stop - r.start for r in region])) * itemsize[name]
        for idx, name, _, region in blocks
        for wkey in [(f"{run}-{name}", *idx)]
    }
    outstanding = submit_next() + submit_next()
    for future in pending:
        if future.status != "finished":
            future.result()  # raises the task's error
        progress.advance(1, nbytes.pop(future.key))
        outstanding -= 1
        if outstanding <= batch_size:
            outstanding += submit_next()
