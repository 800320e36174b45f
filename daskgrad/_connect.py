"""Where the ``daskgrad`` command runs.

:func:`connect` starts an embedded :class:`distributed.LocalCluster` whose scheduler,
workers and dashboard listen on 127.0.0.1 only, or joins an existing cluster with
``--scheduler ADDRESS`` (dask-jobqueue, Kubernetes, Coiled: anything with a scheduler
address), with TLS when the address starts with ``tls://``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TextIO

from ._compat import module_available
from ._usage import UsageError

__all__ = ["ClusterOptions", "connect"]


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
    daskgrad._usage.UsageError: --workers must be at least 1, got 0
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

