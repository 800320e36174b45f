"""daskgrad on a GPU: CuPy in memory and Dask with CuPy chunks, against their peers
and the HBM bandwidth floor, every result checked against ``numpy.gradient``.

Usage (from the repository root; ``benchmarks/gpu_check.sh`` runs it for you)::

    python benchmarks/gpu_bench.py --out benchmarks/GPU.md    # on a CUDA GPU, with CuPy
    python benchmarks/gpu_bench.py --dry-run --out GPU-dry.md  # same code, NumPy, tiny, CPU

Every row computes all partial derivatives (``gradient(f)``: unit spacing,
``edge_order=1``, every axis) with fresh outputs.

- *In memory*: ``daskgrad.gradient(f)`` and ``cupy.gradient(f)`` on one device array,
  timed with CUDA events (best and median of ``--repeat`` after one warm-up call).
- *Dask*: ``da.from_array(f_device, chunks)`` (chunks are CuPy arrays, ``_meta`` is
  CuPy); ``daskgrad.gradient`` and ``dask.array.gradient`` of it, persisted on the
  threaded scheduler (every output chunk computed and held; graph build included),
  timed by the wall clock with the device synchronised before and after.
- *Floor*: the ideal stencil reads ``f`` once and writes each of the k outputs once,
  ``(1 + k) × f.nbytes`` bytes; divided by the device-to-device copy bandwidth
  measured in the same run (a large ``copyto``, bytes read + written), that is the
  shortest time any gradient can take. ``× floor`` = time / that time; ``GB/s`` =
  those ideal bytes / time.
- *Check*: each result is copied to the host and compared with ``numpy.gradient`` of
  the host copy: bit-identical, or else within the test suite's tolerance for CuPy
  (``tests/test_gpu.py``: rtol 1e-12 for float64; 1e-6 for float32), else FAIL. A
  daskgrad row that fails (or raises) makes the exit status 1; a peer's failure is
  reported in the table only.

``--dry-run`` (alias for ``--backend numpy --small``) runs the same code paths with
NumPy arrays at tiny sizes: that is what ``tests/test_benchmarks_gpu.py`` runs. The
NumPy backend sends daskgrad's blocks through the array-API reference kernel (the one
CuPy blocks take), not the numba kernel, and times with the wall clock.
"""

from __future__ import annotations

import argparse
import datetime
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import graph_tasks, time_it  # noqa: E402  (benchmarks/ is not a package)

REPO = Path(__file__).resolve().parents[1]

# rtol of tests/test_gpu.py (float64) and of its dtype test (float32)
RTOL = {"float64": 1e-12, "float32": 1e-6}


@dataclass(frozen=True)
class Case:
    shape: tuple[int, ...]
    dtype: str
    chunks: tuple[int, ...]  # for the Dask rows

    @property
    def label(self) -> str:
        return f"{self.shape} {self.dtype}"


FULL_CASES = [
    Case((512, 512, 512), "float32", (128, 256, 256)),
    Case((512, 512, 512), "float64", (128, 256, 256)),
    Case((100, 721, 1440), "float32", (10, 721, 1440)),
]
SMALL_CASES = [
    Case((16, 24, 20), "float32", (8, 12, 10)),
    Case((16, 24, 20), "float64", (8, 12, 10)),
    Case((10, 18, 36), "float32", (5, 18, 36)),
]


@dataclass
class Row:
    case: Case
    kind: str  # "in memory" | "Dask"
    method: str
    best: float | None = None
    median: float | None = None
    check: str = ""
    max_err: float | None = None
    tasks_per_chunk: float | None = None
    error: str = ""
    ours: bool = False

    @property
    def failed(self) -> bool:
        return bool(self.error) or self.check.startswith("FAIL")


class Backend:
    """The array module and its clock: CuPy with CUDA events, or NumPy on the CPU."""

    def __init__(self, name: str) -> None:
        self.name = name
        if name == "cupy":
            import cupy

            self.xp = cupy
        else:
            # a rehearsal of the CuPy path: NumPy blocks go through the same array-API
            # reference kernel that CuPy blocks take, not the numba one
            import daskgrad.kernels

            daskgrad.kernels._fast_kernel = lambda: None
            self.xp = np

    def asarray(self, a: np.ndarray) -> Any:
        return self.xp.asarray(a)

    def asnumpy(self, a: Any) -> np.ndarray:
        """A host copy of a device array (anything else -- a Dask array -- is refused)."""
        if not isinstance(a, self.xp.ndarray):
            raise TypeError(f"expected a {self.name} array, got {type(a).__name__}")
        return self.xp.asnumpy(a) if self.name == "cupy" else np.array(a)

    def sync(self) -> None:
        if self.name == "cupy":
            self.xp.cuda.Device().synchronize()

    def free(self) -> None:
        if self.name == "cupy":
            self.sync()
            self.xp.get_default_memory_pool().free_all_blocks()

    def time_device(self, fn: Callable[[], Any], repeat: int) -> tuple[float, float]:
        """Best and median seconds of ``fn()`` after one warm-up call: CUDA events on
        the current stream (CuPy), ``_measure.time_it``'s wall clock (NumPy)."""
        out = fn()
        del out
        self.sync()
        if self.name != "cupy":
            return time_it(fn, repeat)
        cuda = self.xp.cuda
        times = []
        for _ in range(repeat):
            start, end = cuda.Event(), cuda.Event()
            start.record()
            out = fn()
            end.record()
            end.synchronize()
            times.append(cuda.get_elapsed_time(start, end) / 1e3)
            del out
        times.sort()
        return times[0], times[len(times) // 2]

    def time_wall(self, fn: Callable[[], Any], repeat: int) -> tuple[float, float]:
        """Best and median wall seconds of ``fn()`` + a device sync, after a warm-up."""

        def run() -> Any:
            out = fn()
            self.sync()
            return out

        run()
        return time_it(run, repeat, before=self.sync)

    def copy_bandwidth(self, nbytes: int, repeat: int) -> float:
        """Device copy bandwidth in bytes/s, counting bytes read + written."""
        src = self.xp.ones(nbytes // 4, dtype=np.float32)
        dst = self.xp.empty_like(src)
        best, _ = self.time_device(lambda: self.xp.copyto(dst, src), repeat)
        return 2 * src.nbytes / best  # the caller frees the pool once these are gone


def compare(got: Any, expected: tuple[np.ndarray, ...], dtype: str, backend: Backend):
    """("bit-identical" | "within rtol R" | "FAIL ...", max abs error) against numpy."""
    outs = got if isinstance(got, (tuple, list)) else (got,)
    if any(hasattr(o, "dask") for o in outs):  # Dask: compute into device arrays
        import dask

        outs = dask.compute(*outs, scheduler="threads")
    if len(outs) != len(expected):
        return f"FAIL: {len(outs)} outputs, numpy.gradient gives {len(expected)}", None
    identical, close, err = True, True, 0.0
    for g, e in zip(outs, expected, strict=True):
        h = backend.asnumpy(g)
        if h.shape != e.shape or h.dtype != e.dtype:
            return f"FAIL: {h.shape} {h.dtype}, numpy.gradient gives {e.shape} {e.dtype}", None
        if np.array_equal(h, e):
            continue
        identical = False
        err = max(err, float(np.max(np.abs(h.astype(np.float64) - e))))
        close = close and bool(np.allclose(h, e, rtol=RTOL[dtype], atol=0))
    if identical:
        return "bit-identical", 0.0
    return (f"within rtol {RTOL[dtype]:g}" if close else "FAIL: differs"), err


def _ideal_bytes(case: Case) -> int:
    n = int(np.prod(case.shape)) * np.dtype(case.dtype).itemsize
    return (1 + len(case.shape)) * n


def _measure_row(row: Row, run: Callable[[], Any], timer: Callable, expected, backend, repeat):
    try:
        got = run()
        row.check, row.max_err = compare(got, expected, row.case.dtype, backend)
        del got
        backend.free()
        row.best, row.median = timer(run, repeat)
    except Exception as exc:  # reported in the table; the exit status says so for ours
        row.error = _err(exc)
    backend.free()


def _err(exc: Exception) -> str:
    """One table cell's worth of an exception."""
    return f"{type(exc).__name__}: {exc}".replace("|", "/").replace("\n", " ")[:200]


def run_case(case: Case, backend: Backend, repeat: int, dask_rows: bool) -> list[Row]:
    import daskgrad

    xp = backend.xp
    peer = f"{backend.name}.gradient"
    f_host = np.random.default_rng(0).standard_normal(case.shape, dtype=case.dtype)
    expected = tuple(np.gradient(f_host))
    f = backend.asarray(f_host)
    rows = []
    for method, run, ours in (
        ("daskgrad.gradient", lambda: daskgrad.gradient(f), True),
        (peer, lambda: xp.gradient(f), False),
    ):
        row = Row(case, "in memory", method, ours=ours)
        _measure_row(row, run, backend.time_device, expected, backend, repeat)
        rows.append(row)
    if dask_rows:
        import dask
        import dask.array as da

        # name=False: no token from hashing the whole device array (a copy to the host)
        d = da.from_array(f, chunks=case.chunks, name=False)
        in_tasks = graph_tasks([d])
        nchunks = int(np.prod(d.numblocks))

        def persisted(build: Callable[[], Any]) -> Callable[[], Any]:
            return lambda: dask.persist(*build(), scheduler="threads")

        for method, build, ours in (
            ("daskgrad.gradient", lambda: daskgrad.gradient(d), True),
            ("dask.array.gradient", lambda: da.gradient(d), False),
        ):
            row = Row(case, "Dask", method, ours=ours)
            try:
                outs = build()
                row.tasks_per_chunk = (graph_tasks(outs) - in_tasks) / nchunks
                meta = type(outs[0]._meta)
                if not isinstance(outs[0]._meta, type(f)):
                    row.error = f"_meta is {meta.__module__}.{meta.__name__}, not {type(f)}"
                    rows.append(row)
                    continue
            except Exception as exc:
                row.error = _err(exc)
                rows.append(row)
                continue
            _measure_row(
                row,
                persisted(build),
                backend.time_wall,
                expected,
                backend,
                repeat,
            )
            rows.append(row)
    return rows  # the caller frees the device pool


def _fmt(x: float | None, spec: str) -> str:
    return "" if x is None else format(x, spec)


def table(rows: list[Row], bandwidth: float) -> list[str]:
    out = [
        "| input | where | method | best ms | median ms | GB/s (ideal bytes) | × floor "
        "| speed-up vs cupy.gradient / dask.array.gradient | tasks/chunk | vs numpy.gradient "
        "| max abs error |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for r in rows:
        ideal = _ideal_bytes(r.case)
        peer = next((p for p in rows if p.case == r.case and p.kind == r.kind and not p.ours), None)
        speedup = ""
        if r.best and peer is not None and peer.best:
            speedup = f"{peer.best / r.best:.2f}×"
        where = "in memory" if r.kind == "in memory" else f"Dask, chunks {r.case.chunks}"
        gbs = ideal / r.best / 1e9 if r.best else None
        floor = r.best / (ideal / bandwidth) if r.best else None
        check = r.check if not r.error else f"ERROR: {r.error}"
        name = f"**{r.method}**" if r.ours else r.method
        out.append(
            f"| {r.case.label} | {where} | {name} | {_fmt(r.best and r.best * 1e3, ',.2f')} "
            f"| {_fmt(r.median and r.median * 1e3, ',.2f')} | {_fmt(gbs, ',.1f')} "
            f"| {_fmt(floor, '.2f')} | {speedup} | {_fmt(r.tasks_per_chunk, '.2f')} "
            f"| {check} | {_fmt(r.max_err, '.3g')} |"
        )
    return out


def _version(mod: str) -> str:
    try:
        return __import__(mod).__version__
    except ImportError:
        return "not installed"


def _git_commit() -> str:
    try:
        return subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return "unknown (no git here)"


def device_info(backend: Backend) -> dict[str, str]:
    """The card (nvidia-smi and CuPy's device properties) or, on NumPy, the CPU."""
    info: dict[str, str] = {}
    if backend.name != "cupy":
        info["device"] = f"CPU ({platform.processor() or platform.machine()}) -- NumPy dry run"
        return info
    cp = backend.xp
    props = cp.cuda.runtime.getDeviceProperties(cp.cuda.Device().id)
    name = props["name"]
    info["device"] = name.decode() if isinstance(name, bytes) else str(name)
    info["compute capability"] = f"{props['major']}.{props['minor']}"
    info["multiprocessors"] = str(props["multiProcessorCount"])
    info["device memory"] = f"{props['totalGlobalMem'] / 2**30:.1f} GiB"
    if props.get("memoryClockRate") and props.get("memoryBusWidth"):
        peak = 2 * props["memoryClockRate"] * 1e3 * props["memoryBusWidth"] / 8
        info["memory bandwidth from clock × bus width"] = f"{peak / 1e9:,.0f} GB/s"
    info["CUDA runtime / driver"] = (
        f"{cp.cuda.runtime.runtimeGetVersion()} / {cp.cuda.runtime.driverGetVersion()}"
    )
    try:
        smi = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,memory.total,driver_version",
             "--format=csv,noheader"],
            capture_output=True, text=True, timeout=30, check=True,
        ).stdout.strip()  # fmt: skip
        info["nvidia-smi"] = smi.replace("\n", "; ")
    except (OSError, subprocess.SubprocessError) as exc:
        info["nvidia-smi"] = f"unavailable ({type(exc).__name__})"
    return info


def render(argv, backend, info, bandwidth, rows, dask_note: str) -> str:
    env = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": f"`python benchmarks/gpu_bench.py {' '.join(argv)}`".replace("  ", " "),
        "daskgrad commit": _git_commit(),
        **info,
        "device copy bandwidth (measured, read + write)": f"{bandwidth / 1e9:,.0f} GB/s",
        "python": platform.python_version(),
        "numpy": np.__version__,
        "cupy": _version("cupy"),
        "dask": _version("dask") + (f" ({dask_note})" if dask_note else ""),
        "numba": _version("numba"),
    }
    title = (
        "# daskgrad on a GPU" if backend.name == "cupy" else "# daskgrad GPU benchmark (dry run)"
    )
    lines = [
        title,
        "",
        "Produced by `bash benchmarks/gpu_check.sh` (`benchmarks/gpu_bench.py`; its "
        "docstring says what each column means). Every row: all partial derivatives of "
        "`gradient(f)` (unit spacing, edge_order=1, every axis), fresh outputs; "
        "**bold** rows are daskgrad. × floor: time ÷ ((1 + k) × input bytes ÷ measured "
        "copy bandwidth).",
        "",
        *[f"- {k}: {v}" for k, v in env.items()],
        "",
        *table(rows, bandwidth),
        "",
    ]
    return "\n".join(lines)


def _parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backend", choices=["cupy", "numpy"], default="cupy")
    p.add_argument("--small", action="store_true", help="tiny inputs")
    p.add_argument("--dry-run", action="store_true", help="= --backend numpy --small")
    p.add_argument("--repeat", type=int, default=None, help="timed runs (default 5; 2 small)")
    p.add_argument("--no-dask", action="store_true", help="skip the Dask rows")
    p.add_argument("--out", type=Path, default=None, help="write the Markdown table here")
    ns = p.parse_args(argv)
    if ns.dry_run:
        ns.backend, ns.small = "numpy", True
    if ns.repeat is None:
        ns.repeat = 2 if ns.small else 5
    return ns


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    ns = _parse(argv)
    t0 = time.perf_counter()
    backend = Backend(ns.backend)
    info = device_info(backend)
    for k, v in info.items():
        print(f"{k}: {v}", flush=True)
    dask_note = ""
    dask_rows = not ns.no_dask
    if dask_rows:
        try:
            import dask.array  # noqa: F401
        except ImportError:
            dask_rows, dask_note = False, "not importable: Dask rows skipped"
            print("dask is not importable: the Dask rows are skipped", flush=True)
    else:
        dask_note = "Dask rows skipped (--no-dask)"
    bandwidth = backend.copy_bandwidth(2**26 if ns.small else 2**31, ns.repeat)
    backend.free()
    print(f"device copy bandwidth: {bandwidth / 1e9:,.0f} GB/s", flush=True)
    rows: list[Row] = []
    for case in SMALL_CASES if ns.small else FULL_CASES:
        new = run_case(case, backend, ns.repeat, dask_rows)
        backend.free()
        for r in new:
            state = r.error or r.check
            print(f"{case.label:28} {r.kind:9} {r.method:22} {_fmt(r.best, '.4f')} s  {state}",
                  flush=True)  # fmt: skip
        rows += new
        text = render(argv, backend, info, bandwidth, rows, dask_note)
        if ns.out is not None:  # after every input: a run cut short keeps what it measured
            ns.out.parent.mkdir(parents=True, exist_ok=True)
            ns.out.write_text(text)
    if ns.out is not None:
        print(f"wrote {ns.out}")
    print(text)
    print(f"({time.perf_counter() - t0:.1f} s)")
    bad = [r for r in rows if r.ours and r.failed]
    if bad:
        print(f"FAILED: {len(bad)} daskgrad row(s) wrong or raising", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
