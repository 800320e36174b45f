"""Where the ``daskgrad`` command runs.

:func:`connect` starts an embedded :class:`distributed.LocalCluster` whose scheduler,
workers and dashboard listen on 127.0.0.1 only, or joins an existing cluster with
``--scheduler ADDRESS`` (dask-jobqueue, Kubernetes, Coiled: anything with a scheduler
address), with TLS when the address starts with ``tls://``.

Joining is bounded: before the :class:`distributed.Client` is made, a probe connects
to ADDRESS, asks it who it is, and gives up after ``--timeout`` seconds (default 30).
A port that accepts and never answers, or anything that is not a Dask scheduler (an
HTTP server, a TLS port spoken to over ``tcp://``, a worker), is a
:class:`~daskgrad._usage.UsageError`: one line, exit status 2, nothing started or
written. (``distributed``'s own connect waits forever for the handshake's answer.)

The cluster's log messages (distributed's tracebacks of failed tasks, dying workers,
connections closed at Ctrl-C) are silenced in this process and in the local workers
unless ``logs=True`` (``--traceback``); failures still reach the command as exceptions.
Local workers ignore SIGINT: a Ctrl-C at the terminal reaches the whole process group,
and only the command itself should answer it (it closes the cluster).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TextIO

from ._compat import WORKER_IMPORTS, module_available
from ._usage import UsageError

__all__ = ["ClusterOptions", "connect", "dask_setup", "probe_scheduler"]

#: loggers whose messages the command silences unless ``--traceback``
_LOGGERS = ("distributed", "tornado", "tornado.application", "bokeh", "asyncio")


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
    timeout: float = 30.0
    logs: bool = False

    def check(self) -> ClusterOptions:
        """Raise :class:`UsageError` for options that cannot work; return ``self``."""
        for flag, value in (
            ("--workers", self.workers),
            ("--threads-per-worker", self.threads_per_worker),
        ):
            if value is not None and value < 1:
                raise UsageError(f"{flag} must be at least 1, got {value}")
        if not (math.isfinite(self.timeout) and self.timeout > 0):
            raise UsageError(f"--timeout must be a positive number of seconds, got {self.timeout}")
        if self.memory_limit is not None:
            _parse_memory(self.memory_limit)
        tls = [f for f in (self.tls_ca, self.tls_cert, self.tls_key) if f is not None]
        if self.scheduler is None:
            if tls:
                raise UsageError("--tls-ca/--tls-cert/--tls-key need --scheduler tls://...")
            return self
        local = ("--workers", self.workers), ("--threads-per-worker", self.threads_per_worker)
        for flag, given in (*local, ("--memory-limit", self.memory_limit)):
            if given is not None:
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


#: multiprocessing's resource tracker (a process of its own, started with this process's
#: -W options) warns at exit about semaphores of workers stopped by force, as after a
#: failed run: noise for the command's user, who sees the failure itself in one line
_TRACKER_WARNING = "ignore:resource_tracker:UserWarning"


def _local_cluster(opts: ClusterOptions, log: TextIO) -> Any:
    import sys

    from distributed import LocalCluster

    if not opts.logs and _TRACKER_WARNING not in sys.warnoptions:
        sys.warnoptions.append(_TRACKER_WARNING)

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
        silence_logs=_log_level(opts),
        # runs dask_setup below in every worker process, restarted ones too
        preload=["daskgrad._connect"],
        **kwargs,
    )
    if dashboard:
        print(f"dashboard: {cluster.dashboard_link}", file=log)
    return cluster


def _log_level(opts: ClusterOptions) -> int:
    return logging.WARNING if opts.logs else logging.CRITICAL


@contextlib.contextmanager
def _quiet_logs(level: int) -> Iterator[None]:
    """Raise the level of the cluster's log handlers in this process to ``level``.

    distributed attaches its stderr handler to the ``distributed`` logger (and to
    ``tornado``/``bokeh``); records of the child loggers propagate to it, so the
    handler's level is what filters them. Loggers without a handler (``asyncio``:
    Python's last-resort handler) get the level themselves.
    """
    with contextlib.ExitStack() as stack:
        for name in _LOGGERS:
            logger = logging.getLogger(name)
            if not logger.handlers and logger.level < level:
                stack.callback(logger.setLevel, logger.level)
                logger.setLevel(level)
            for handler in logger.handlers:
                if handler.level < level:
                    stack.callback(handler.setLevel, handler.level)
                    handler.setLevel(level)
        yield


def dask_setup(worker: Any) -> None:
    """distributed's preload hook, run in each local worker process as it starts.

    The worker ignores SIGINT: a terminal's Ctrl-C goes to the command and its
    workers alike; the command closes the cluster (stopping the workers), and workers
    that saw the signal themselves would each print a KeyboardInterrupt traceback.
    """
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def _connection_error(address: str, timeout: float, stage: str, exc: BaseException) -> UsageError:
    lines = str(exc).strip().splitlines()
    reason = f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
    if stage == "reach":
        return UsageError(
            f"could not connect to the scheduler at {address} within {timeout:g} s "
            f"({reason}); check the address, or wait longer with --timeout"
        )
    if stage == "answer":
        return UsageError(
            f"could not connect to the scheduler at {address} within {timeout:g} s: "
            "it accepted the connection but did not answer (is it a Dask scheduler?)"
        )
    if "ssl" in reason.lower() or "certificate" in reason.lower():
        return UsageError(f"TLS handshake with the scheduler at {address} failed: {reason}")
    if isinstance(exc, MemoryError):  # 8 bytes of text read as a Dask frame's length
        reason = "its answer is not a Dask message (an HTTP server, such as a dashboard?)"
    elif isinstance(exc, EOFError | ConnectionError) or "closed" in reason.lower():
        tls = " (a tls:// scheduler? then give a tls:// address)" if "tcp://" in address else ""
        reason = f"it closed the connection{tls}"
    return UsageError(f"{address} does not speak the Dask protocol: {reason}")


def probe_scheduler(address: str, *, timeout: float = 30.0, security: Any = None) -> None:
    """Check that a Dask scheduler answers at ``address`` within ``timeout`` seconds.

    Three stages, all within ``timeout``: reach the port (refused connections are
    retried, as distributed does, for a scheduler still starting), the Dask handshake,
    and an ``identity`` request whose answer must come from a scheduler.

    Parameters
    ----------
    address : str
        ``tcp://host:port``, ``tls://host:port`` or another distributed address.
    timeout : float
        Seconds for the whole probe.
    security : distributed.security.Security, optional
        TLS settings for ``tls://``.

    Raises
    ------
    UsageError
        One line naming the address: not reached, no answer, or not a scheduler.
    """
    import asyncio
    import time

    from distributed.comm import connect as comm_connect
    from distributed.comm import get_address_host_port

    args = security.get_connection_args("client") if security is not None else {}
    deadline = time.monotonic() + timeout
    stage = ["reach"]

    async def reach() -> None:
        try:
            host, port = get_address_host_port(address)
        except (ValueError, NotImplementedError):
            return  # not a host:port transport: the Dask connect reaches it
        while True:
            try:
                _, writer = await asyncio.open_connection(host, port)
            except OSError:
                if time.monotonic() > deadline - 0.1:
                    raise
                await asyncio.sleep(0.1)
                continue
            writer.close()
            return

    async def ask() -> Any:
        await reach()
        stage[0] = "answer"
        comm = await comm_connect(address, timeout=max(deadline - time.monotonic(), 0.1), **args)
        try:
            await comm.write({"op": "identity", "reply": True})
            return await comm.read()
        finally:
            comm.abort()

    async def bounded() -> Any:
        return await asyncio.wait_for(ask(), timeout)

    outcome: dict[str, Any] = {}

    def run() -> None:  # a thread of its own: the caller may already run an event loop
        try:
            outcome["reply"] = asyncio.run(bounded())
        except BaseException as exc:  # noqa: BLE001 - reported below, in the caller
            outcome["error"] = exc

    thread = threading.Thread(target=run, name="daskgrad-probe", daemon=True)
    thread.start()
    thread.join(timeout + 5)
    error = outcome.get("error")
    if thread.is_alive() or isinstance(error, asyncio.TimeoutError):
        raise _connection_error(address, timeout, stage[0], TimeoutError())
    if error is not None:
        if stage[0] == "reach" or (isinstance(error, OSError) and "Timed out" in str(error)):
            raise _connection_error(address, timeout, "reach", error)
        raise _connection_error(address, timeout, "protocol", error)
    reply = outcome.get("reply")
    kind = reply.get("type") if isinstance(reply, dict) else None
    if kind != "Scheduler":
        what = f"a Dask {kind}, not a scheduler" if isinstance(kind, str) else "not a scheduler"
        raise UsageError(f"{address} answered, but it is {what}")


def _imports_plugin() -> Any:
    """A worker plugin that imports :data:`daskgrad._compat.WORKER_IMPORTS` before a
    (new) worker runs any task (Python's import locks can deadlock otherwise).

    Defined here so that cloudpickle sends the class by value: workers need only
    daskgrad itself.
    """
    from distributed import WorkerPlugin

    modules = WORKER_IMPORTS

    class ImportOnStart(WorkerPlugin):
        name = "daskgrad-imports"

        def setup(self, worker: Any) -> None:
            import importlib

            for module in modules:
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
        Where to print the dashboard address and cluster size; a
        :class:`~daskgrad._progress.Status` is also told what is being done.

    Raises
    ------
    UsageError
        ``--scheduler`` did not answer within ``opts.timeout`` or is not a scheduler.

    Examples
    --------
    >>> import io
    >>> with connect(ClusterOptions(workers=1, threads_per_worker=1, dashboard=False),
    ...              io.StringIO()) as client:  # doctest: +SKIP
    ...     client.submit(sum, [1, 2]).result()
    3
    """
    from distributed import Client

    say = getattr(log, "say", lambda text: None)  # a daskgrad._progress.Status
    with contextlib.ExitStack() as stack:
        stack.enter_context(_quiet_logs(_log_level(opts)))
        say("starting a local cluster" if opts.scheduler is None else f"joining {opts.scheduler}")
        if opts.scheduler is None:
            cluster = stack.enter_context(_local_cluster(opts, log))
            client = stack.enter_context(Client(cluster, timeout=f"{opts.timeout}s"))
        else:
            security = _security(opts)
            probe_scheduler(opts.scheduler, timeout=opts.timeout, security=security)
            client = stack.enter_context(
                Client(opts.scheduler, security=security, timeout=f"{opts.timeout}s")
            )
            print(f"scheduler: {opts.scheduler}", file=log)
        try:
            client.register_plugin(_imports_plugin())
        except OSError as exc:  # distributed's CommClosedError: the workers went away
            if opts.scheduler is not None:
                raise
            limit = f" (is --memory-limit {opts.memory_limit} enough for a worker process?)"
            raise RuntimeError(
                "the local workers stopped as they started" + (limit if opts.memory_limit else "")
            ) from exc
        nthreads = sum(client.nthreads().values())
        print(f"cluster: {len(client.nthreads())} workers, {nthreads} threads", file=log)
        say("preparing OUTPUT and the task graph")
        yield client
