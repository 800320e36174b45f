"""Timing, peak-memory and environment helpers for ``bench_gradient.py``."""

from __future__ import annotations

import functools
import gc
import os
import platform
import statistics
import threading
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = [
    "RssSampler",
    "dask_floor",
    "task_kind",
    "wait_released",
    "environment",
    "floor_kernel",
    "graph_tasks",
    "peak_tracemalloc",
    "time_it",
]


def time_it(
    fn: Callable[[], Any], repeat: int, before: Callable[[], Any] | None = None
) -> tuple[float, float]:
    """Best and median wall time (seconds) of ``fn()`` over ``repeat`` runs.

    The result of each run is dropped before the next one starts (so fresh-output
    methods pay their page faults every time, as a user's call does); ``before()``
    runs untimed before each run.
    """
    times = []
    for _ in range(repeat):
        gc.collect()
        if before is not None:
            before()
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
        del out
    return min(times), statistics.median(times)


def peak_tracemalloc(fn: Callable[[], Any]) -> int:
    """Peak bytes allocated through Python's allocator hooks while ``fn()`` runs.

    NumPy registers its data buffers with tracemalloc, so this is the peak of NumPy
    arrays created during the call (in every thread), results included; memory held
    before the call (the input) is not counted. Torch's allocator is not tracked.
    """
    gc.collect()
    tracemalloc.start()
    try:
        out = fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del out
    return peak


class RssSampler:
    """Peak of the summed resident set size of some processes, sampled every 5 ms."""

    def __init__(self, pids: list[int]) -> None:
        import psutil

        self._procs = [psutil.Process(p) for p in pids]
        self._stop = threading.Event()
        self.baseline = self._rss()
        self.peak = self.baseline
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _rss(self) -> int:
        return sum(p.memory_info().rss for p in self._procs)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss())
            time.sleep(0.005)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())


def graph_tasks(arrays: Any) -> int:
    """Number of tasks in the merged graph of some Dask arrays (not optimized).

    In dask's array-expression mode each array's graph is a plain dict holding the
    whole graph, so the keys are united (``HighLevelGraph.merge`` would count the
    shared tasks once per array)."""
    from dask.highlevelgraph import HighLevelGraph

    graphs = [a.__dask_graph__() for a in arrays]
    if all(isinstance(g, HighLevelGraph) for g in graphs):
        return len(HighLevelGraph.merge(*graphs))
    return len(set().union(*(dict(g) for g in graphs)))


def floor_kernel(parallel: bool = True) -> Callable[..., None]:
    """A numba sweep that reads ``f`` once and writes it into every output."""
    import numba

    def copy_to_all(f2: Any, outs: Any) -> None:
        for i in numba.prange(f2.shape[0]):
            for k in range(len(outs)):
                o = outs[k]
                for j in range(f2.shape[1]):
                    o[i, j] = f2[i, j]

    return numba.njit(parallel=parallel)(copy_to_all)


@functools.cache
def _copy3() -> Callable[..., None]:
    """A serial numba loop reading a 3-D block once into three outputs (compiled once)."""
    import numba

    def copy3(b: Any, o0: Any, o1: Any, o2: Any) -> None:
        for i in range(b.shape[0]):
            for j in range(b.shape[1]):
                for k in range(b.shape[2]):
                    v = b[i, j, k]
                    o0[i, j, k] = v
                    o1[i, j, k] = v
                    o2[i, j, k] = v

    return numba.njit(nogil=True)(copy3)


def _copy_block(b: Any) -> tuple[Any, ...]:
    """Three fresh arrays, each a copy of 3-D block ``b`` (read once, serial numba)."""
    outs = tuple(np.empty(b.shape, b.dtype) for _ in range(3))
    _copy3()(b, *outs)
    return outs


def dask_floor(x: Any) -> list[Any]:
    """The Dask floor of a 3-axis gradient with output chunks = input chunks: per
    chunk, one task reads the block once and writes three fresh arrays, and three
    ``getitem`` tasks hand them out (no stencil, no halo): 4 tasks per chunk."""
    import dask.array as da

    if x.ndim != 3:
        raise ValueError("dask_floor: a 3-D array")
    both = da.map_blocks(_copy_block, x, dtype=x.dtype, meta=np.empty((0, 0, 0), x.dtype))
    return [
        both.map_blocks(_pick, i, dtype=x.dtype, meta=np.empty((0, 0, 0), x.dtype))
        for i in range(3)
    ]


def _pick(t: tuple, i: int) -> Any:
    return t[i]


def task_kind(key: Any) -> str:
    """A task key's kind: ``faces``/``kernel``/``d0`` for daskgrad's layers, else
    Dask's ``key_split`` (``standard_normal``, ``getitem``, ...)."""
    from dask.utils import key_split

    name = key[0] if isinstance(key, tuple) else key
    return name.split("-", 2)[-1] if name.startswith("daskgrad-") else key_split(name)


def wait_released(client: Any, keep: int) -> None:
    """Wait until the cluster holds at most ``keep`` keys (earlier results released)."""
    while sum(len(v) for v in client.has_what().values()) > keep:
        time.sleep(0.01)


def environment() -> dict[str, str]:
    """Machine, library versions and the environment variables that matter here."""
    import numba

    info = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": f"{numba.__version__} (threading layer: {_threading_layer()})",
        "cpu": _cpu_name(),
        "cores (os.cpu_count)": str(os.cpu_count()),
        "memory": _memory(),
        "load average at start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }
    for mod in ("dask", "distributed", "xarray", "torch"):
        try:
            info[mod] = __import__(mod).__version__
        except ImportError:
            info[mod] = "not installed"
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "NUMBA_NUM_THREADS", "OMP_NUM_THREADS"):
        info[var] = os.environ.get(var, "(unset)")
    return info


def _threading_layer() -> str:
    import numba

    try:
        return numba.threading_layer()
    except ValueError:
        return "not initialised yet"


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory() -> str:
    try:
        import psutil

        return f"{psutil.virtual_memory().total / 2**30:.1f} GiB"
    except ImportError:
        return "unknown"
