"""daskgrad vs its memory floor and its peers, all measured in the same run.

Usage (from the repository root)::

    python benchmarks/bench_gradient.py                 # (256, 512, 512) float64
    python benchmarks/bench_gradient.py --quick         # tiny: the smoke test
    python benchmarks/bench_gradient.py --out FILE.md   # also write the Markdown

Every row computes all three partial derivatives of a float64 field with fresh
outputs. "uniform" is unit spacing with ``edge_order=1`` (``numpy.gradient(f)``);
"coords" is one non-uniform coordinate array per axis with ``edge_order=2``. Dask
rows *persist* the outputs (every chunk computed and held, no concatenation into
one NumPy array), except the one marked ``.compute()``. Timings include building
the graph. Peak memory: tracemalloc (NumPy buffers allocated during the call, all
threads) unless marked RSS (sampled resident set size of the process, or of the
cluster's worker processes).
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

# Steady-state speed: the fused kernel from the first call on, here and in the
# cluster's workers (the default, auto, uses the reference kernel until the fused
# one is ready in a process: daskgrad/kernels/_ready.py).
os.environ.setdefault("DASKGRAD_KERNEL", "numba")
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _measure import (  # noqa: E402
    RssSampler,
    dask_floor,
    environment,
    floor_kernel,
    graph_tasks,
    peak_tracemalloc,
    time_it,
    wait_released,
)
from _variants import map_overlap_gradient  # noqa: E402

import daskgrad  # noqa: E402

DEFAULT_SHAPE, DEFAULT_CHUNKS = (256, 512, 512), (64, 128, 128)
QUICK_SHAPE, QUICK_CHUNKS = (8, 12, 10), (4, 6, 5)


@dataclass
class Ctx:
    """Inputs shared by every case."""

    f: np.ndarray
    chunks: tuple[int, ...]
    coords: list[np.ndarray]
    quick: bool
    client: Any = None
    x_cluster: Any = None

    def spacing(self, kind: str) -> tuple[list[Any], int]:
        if kind == "coords":
            return list(self.coords), 2
        h = 0.7 if kind == "uniform h=0.7" else 1.0
        return [h] * self.f.ndim, 1

    @property
    def nchunks(self) -> int:
        return int(
            np.prod([len(range(0, n, c)) for n, c in zip(self.f.shape, self.chunks, strict=True)])
        )


@dataclass
class Case:
    method: str
    spacings: tuple[str, ...]
    setup: Callable[[Ctx, str], tuple[Callable[[], Any], dict]]
    memory: str = "tracemalloc"


@dataclass
class Row:
    method: str
    spacing: str
    best: float
    median: float
    tasks_per_chunk: float | None = None
    peak: int | None = None
    memory: str = ""


# ----------------------------------------------------------------------------- cases
def _floor(prealloc: bool) -> Callable[[Ctx, str], tuple[Callable[[], Any], dict]]:
    def setup(ctx: Ctx, kind: str) -> tuple[Callable[[], Any], dict]:
        f2 = ctx.f.reshape(-1, ctx.f.shape[-1])
        copy = floor_kernel(parallel=True)
        outs = tuple(np.empty_like(f2) for _ in range(ctx.f.ndim))
        copy(f2, outs)  # compile

        def run_pre() -> Any:
            copy(f2, outs)

        def run_fresh() -> Any:
            fresh = tuple(np.empty_like(f2) for _ in range(ctx.f.ndim))
            copy(f2, fresh)
            return fresh

        return (run_pre if prealloc else run_fresh), {}

    return setup


def _floor_numpy(prealloc: bool) -> Callable[[Ctx, str], tuple[Callable[[], Any], dict]]:
    """NumPy's copy (reads the input once per output, but memcpy's streaming stores)."""

    def setup(ctx: Ctx, kind: str) -> tuple[Callable[[], Any], dict]:
        outs = [np.empty_like(ctx.f) for _ in range(ctx.f.ndim)]

        def run_pre() -> Any:
            for o in outs:
                np.copyto(o, ctx.f)

        def run_fresh() -> Any:
            return [ctx.f.copy() for _ in range(ctx.f.ndim)]

        return (run_pre if prealloc else run_fresh), {}

    return setup


def _numpy(ctx: Ctx, kind: str) -> tuple[Callable[[], Any], dict]:
    sp, eo = ctx.spacing(kind)
    return (lambda: np.gradient(ctx.f, *sp, edge_order=eo)), {"check": True}


def _torch(ctx: Ctx, kind: str) -> tuple[Callable[[], Any], dict]:
    import torch

    torch.set_num_threads(2)
    t = torch.from_numpy(ctx.f)
    sp, eo = ctx.spacing(kind)
    spacing = sp[0] if kind != "coords" else [torch.from_numpy(c) for c in sp]
    return (lambda: torch.gradient(t, spacing=spacing, edge_order=eo)), {}


def _xarray(ctx: Ctx, kind: str) -> tuple[Callable[[], Any], dict]:
    import xarray as xr

    sp, eo = ctx.spacing(kind)
    dims = [f"d{i}" for i in range(ctx.f.ndim)]
    coords = {
        d: (s if np.ndim(s) else s * np.arange(n))
        for d, s, n in zip(dims, sp, ctx.f.shape, strict=True)
    }
    arr = xr.DataArray(ctx.f, dims=dims, coords=coords)
    return (lambda: [arr.differentiate(d, edge_order=eo).data for d in dims]), {"check": True}


def _daskgrad_numpy(ctx: Ctx, kind: str) -> tuple[Callable[[], Any], dict]:
    sp, eo = ctx.spacing(kind)
    part = tuple(slice(0, min(n, 64)) for n in ctx.f.shape)  # compiles both sweeps
    warm = [s if np.ndim(s) == 0 else s[p] for s, p in zip(sp, part, strict=True)]
    daskgrad.gradient(np.ascontiguousarray(ctx.f[part]), *warm, edge_order=eo)
    return (lambda: daskgrad.gradient(ctx.f, *sp, edge_order=eo)), {"check": True}


def _dask_input(ctx: Ctx) -> Any:
    import dask.array as da

    return da.from_array(ctx.f, chunks=ctx.chunks)


def _threads(
    build: Callable[[Any, list, int], Any], compute: bool = False, check: bool = True
) -> Callable:
    def setup(ctx: Ctx, kind: str) -> tuple[Callable[[], Any], dict]:
        import dask

        x = _dask_input(ctx)
        sp, eo = ctx.spacing(kind)
        outs = build(x, sp, eo)
        tasks = (graph_tasks(outs) - graph_tasks([x])) / ctx.nchunks

        def run() -> Any:
            g = build(x, sp, eo)
            if compute:
                return dask.compute(*g, scheduler="threads", num_workers=2)
            return dask.persist(*g, scheduler="threads", num_workers=2)

        return run, {"tasks": tasks, "check": check}

    return setup


def _da_gradient(x: Any, sp: list, eo: int) -> Any:
    import dask.array as da

    return da.gradient(x, *sp, edge_order=eo)


def _dg(x: Any, sp: list, eo: int) -> Any:
    return daskgrad.gradient(x, *sp, edge_order=eo)


def _cluster(build: Callable[[Any, list, int], Any]) -> Callable:
    def setup(ctx: Ctx, kind: str) -> tuple[Callable[[], Any], dict]:
        from distributed import wait

        client, x = ctx.client, ctx.x_cluster
        sp, eo = ctx.spacing(kind)
        tasks = (graph_tasks(build(x, sp, eo)) - graph_tasks([x])) / ctx.nchunks

        def run() -> Any:
            futs = client.persist(list(build(x, sp, eo)))
            wait(futs)
            return futs

        def settle() -> None:  # the previous run's outputs released (untimed)
            wait_released(client, ctx.nchunks)

        return run, {"tasks": tasks, "before": settle}

    return setup


CASES = [
    Case("floor: read once, write 3 (preallocated)", ("-",), _floor(True)),
    Case("floor: read once, write 3 (fresh outputs)", ("-",), _floor(False)),
    Case("floor: 3 × np.copyto (preallocated)", ("-",), _floor_numpy(True)),
    Case("floor: 3 × ndarray.copy (fresh outputs)", ("-",), _floor_numpy(False)),
    Case("numpy.gradient", ("uniform", "coords", "uniform h=0.7"), _numpy),
    Case("torch.gradient (CPU, 2 threads)", ("uniform", "coords"), _torch, "RSS"),
    Case("xarray differentiate, per axis", ("uniform", "coords"), _xarray),
    Case("**daskgrad, NumPy in memory**", ("uniform", "coords", "uniform h=0.7"), _daskgrad_numpy),
    Case(
        "Dask floor: read each chunk once, write 3, threads",
        ("-",),
        _threads(lambda x, sp, eo: dask_floor(x), check=False),
    ),
    Case("dask.array.gradient, threads", ("uniform", "coords"), _threads(_da_gradient)),
    Case(
        "one map_overlap + daskgrad kernel, threads",
        ("uniform", "coords"),
        _threads(lambda x, sp, eo: map_overlap_gradient(x, sp, eo)),
    ),
    Case("**daskgrad, Dask threads**", ("uniform", "coords"), _threads(_dg)),
    Case("daskgrad, Dask threads, .compute()", ("uniform",), _threads(_dg, compute=True)),
    Case(
        "dask.array.gradient, LocalCluster 2×1",
        ("uniform", "coords"),
        _cluster(_da_gradient),
        "RSS",
    ),
    Case(
        "Dask floor: read each chunk once, write 3, LocalCluster 2×1",
        ("-",),
        _cluster(lambda x, sp, eo: dask_floor(x)),
        "RSS",
    ),
    Case("**daskgrad, LocalCluster 2×1**", ("uniform", "coords"), _cluster(_dg), "RSS"),
]


# ----------------------------------------------------------------------------- running
def _check(ctx: Ctx, case: Case, kind: str, got: Any) -> None:
    """Values equal to numpy.gradient's, bit for bit (NaN-aware)."""
    import dask

    sp, eo = ctx.spacing(kind)
    want = np.gradient(ctx.f, *sp, edge_order=eo)
    got = dask.compute(*got, scheduler="threads") if hasattr(got[0], "dask") else got
    for g, w in zip(got, want, strict=True):
        if not np.array_equal(np.asarray(g), w, equal_nan=True):
            raise AssertionError(f"{case.method} ({kind}): differs from numpy.gradient")


def _memory(case: Case, run: Callable[[], Any], ctx: Ctx) -> int:
    if case.memory == "tracemalloc":
        return peak_tracemalloc(run)
    import os

    pids = [os.getpid()]
    if "LocalCluster" in case.method:
        pids = list(ctx.client.run(os.getpid).values())
    with RssSampler(pids) as sampler:
        run()
    return sampler.peak - sampler.baseline


def _skip(case: Case, ctx: Ctx, only: str | None) -> bool:
    if only and not any(word in case.method for word in only.split(",")):
        return True
    if "torch" in case.method and not _has("torch"):
        return True
    return "LocalCluster" in case.method and ctx.client is None


def run_cases(ctx: Ctx, repeat: int, only: str | None = None) -> list[Row]:
    """Time every case and spacing (values checked against numpy.gradient first)."""
    rows = []
    for case in CASES:
        if _skip(case, ctx, only):
            continue
        for kind in case.spacings:
            run, info = case.setup(ctx, kind)
            if info.get("check"):
                _check(ctx, case, kind, run())
            best, median = time_it(run, repeat, info.get("before"))
            if info.get("before"):
                info["before"]()
            peak = _memory(case, run, ctx)
            rows.append(Row(case.method, kind, best, median, info.get("tasks"), peak, case.memory))
            print(f"{case.method:48s} {kind:14s} best {best * 1e3:8.1f} ms", flush=True)
            del run
            gc.collect()
    return rows


def _has(mod: str) -> bool:
    try:
        __import__(mod)
    except ImportError:
        return False
    return True


# ----------------------------------------------------------------------------- extra tables
STREAM_METHODS = {
    "dask.array.gradient": _da_gradient,
    "one map_overlap + kernel": lambda x, sp, eo: map_overlap_gradient(x, sp, eo),
    "daskgrad": _dg,
}


def streaming_memory(shape: tuple[int, ...], chunks: tuple[int, ...]) -> list[tuple]:
    """Peak memory of a streaming run: lazily generated input, each output reduced."""
    import dask
    import dask.array as da

    rows = []
    for factor in (1, 2, 4):
        big = (shape[0] * factor, *shape[1:])
        for name, build in STREAM_METHODS.items():
            x = da.random.default_rng(0).standard_normal(big, chunks=chunks)
            outs = build(x, [1.0] * x.ndim, 1)

            def run(outs: Any = outs) -> Any:
                sums = [g.sum() for g in outs]
                return dask.compute(*sums, scheduler="threads", num_workers=2)

            t0 = time.perf_counter()
            peak = peak_tracemalloc(run)
            rows.append((name, big, time.perf_counter() - t0, peak, x.nbytes))
            print(f"streaming {name:28s} {big} peak {peak / 2**20:8.1f} MiB", flush=True)
    return rows


def graph_scaling(sizes: list[int], chunk: int) -> list[tuple]:
    """Graph construction time and task count for big cubes (nothing is computed)."""
    import dask.array as da

    rows = []
    for n in sizes:
        x = da.zeros((n, n, n), chunks=chunk)
        coords = [np.cumsum(np.linspace(1.0, 2.0, n))] * 3
        variants = [
            ("daskgrad", "uniform", lambda x=x: _dg(x, [1.0] * 3, 1)),
            ("daskgrad", "coords", lambda x=x, coords=coords: _dg(x, coords, 2)),
            ("dask.array.gradient", "uniform", lambda x=x: _da_gradient(x, [1.0] * 3, 1)),
            (
                "one map_overlap + kernel",
                "uniform",
                lambda x=x: map_overlap_gradient(x, [1.0] * 3, 1),
            ),
        ]
        nchunks = int(np.prod(x.numblocks))
        for name, kind, build in variants:
            t0 = time.perf_counter()
            outs = build()
            t_call = time.perf_counter() - t0
            tasks = graph_tasks(outs) - graph_tasks([x])
            t_all = time.perf_counter() - t0
            rows.append((name, kind, n, chunk, nchunks, t_call, t_all, tasks))
            print(f"graph {name:26s} {kind:8s} {n}^3: {t_call:.2f} s, {tasks} tasks", flush=True)
            del outs
    return rows


# ----------------------------------------------------------------------------- output
def _fmt_mem(peak: int | None, nbytes: int, how: str) -> str:
    if peak is None:
        return ""
    return f"{peak / 2**20:,.0f} MiB ({peak / nbytes:.2f}×) {how}"


def _dask_peer(rows: list[Row], r: Row) -> float | None:
    """dask.array.gradient's best time on the same scheduler and spacing."""
    where = "LocalCluster" if "LocalCluster" in r.method else "threads"
    for p in rows:
        if p.method.startswith("dask.array.gradient") and where in p.method:
            if p.spacing == r.spacing or (r.spacing == "-" and p.spacing == "uniform"):
                return p.best
    return None


def main_table(rows: list[Row], nbytes: int) -> list[str]:
    fresh = [r.best for r in rows if r.method.startswith("floor") and "fresh" in r.method]
    floor = min(fresh) if fresh else None
    ref = {r.spacing: r.best for r in rows if r.method == "numpy.gradient"}
    out = [
        "| method | spacing | best ms | median ms | × floor (fresh) | speed-up vs numpy.gradient "
        "| speed-up vs dask.array.gradient | tasks/chunk | peak memory (× input) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        xf = f"{r.best / floor:.2f}" if floor else ""
        sp = f"{ref[r.spacing] / r.best:.2f}×" if r.spacing in ref else ""
        peer = _dask_peer(rows, r) if r.tasks_per_chunk is not None else None
        vs_dask = f"{peer / r.best:.2f}×" if peer else ""
        tasks = "" if r.tasks_per_chunk is None else f"{r.tasks_per_chunk:.2f}"
        out.append(
            f"| {r.method} | {r.spacing} | {r.best * 1e3:,.1f} | {r.median * 1e3:,.1f} | {xf} "
            f"| {sp} | {vs_dask} | {tasks} | {_fmt_mem(r.peak, nbytes, r.memory)} |"
        )
    return out


def stream_table(rows: list[tuple], chunk_bytes: int) -> list[str]:
    out = [
        "| method | shape | input size | peak memory | peak / chunk size | wall s |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for name, shape, wall, peak, nbytes in rows:
        out.append(
            f"| {name} | {shape} | {nbytes / 2**20:,.0f} MiB | {peak / 2**20:,.0f} MiB "
            f"| {peak / chunk_bytes:.1f} | {wall:.2f} |"
        )
    return out


def graph_table(rows: list[tuple]) -> list[str]:
    out = [
        "| method | spacing | array | chunks | call s | call + count s | tasks | tasks/chunk |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for name, kind, n, chunk, nchunks, t_call, t_all, tasks in rows:
        out.append(
            f"| {name} | {kind} | {n}³ in {chunk}³ | {nchunks:,} | {t_call:.2f} | {t_all:.2f} "
            f"| {tasks:,} | {tasks / nchunks:.2f} |"
        )
    return out


def render(ctx: Ctx, argv: list[str], rows: list, stream: list, graph: list) -> str:
    lines = [
        f"Command: `{' '.join(['python', 'benchmarks/bench_gradient.py', *argv])}`",
        "",
        f"Input: {ctx.f.shape} {ctx.f.dtype} ({ctx.f.nbytes / 2**20:,.0f} MiB), "
        f"Dask chunks {ctx.chunks} ({ctx.nchunks} chunks). Other processes may have been "
        "running on this shared machine: best-of timings are the ones to compare.",
        "",
    ]
    lines += [f"- {k}: {v}" for k, v in environment().items()]
    lines += ["", *main_table(rows, ctx.f.nbytes), ""]
    if stream:
        chunk_bytes = int(np.prod(ctx.chunks)) * ctx.f.itemsize
        lines += ["Streaming (threads, input generated lazily, each output summed):", ""]
        lines += [*stream_table(stream, chunk_bytes), ""]
    if graph:
        lines += ["Graph construction (nothing computed):", "", *graph_table(graph), ""]
    return "\n".join(lines)


def _parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="tiny inputs, one repetition")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument(
        "--only", default=None, help="comma-separated: run only methods containing one of these"
    )
    p.add_argument("--no-cluster", action="store_true", help="skip the LocalCluster rows")
    p.add_argument("--no-extra", action="store_true", help="skip streaming and graph tables")
    p.add_argument("--out", default=None, help="write the Markdown report here")
    return p.parse_args(argv)


def _start_cluster(ctx: Ctx) -> Any:
    import dask.array as da
    from distributed import Client, LocalCluster, wait

    cluster = LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    )
    ctx.client = Client(cluster)
    x = da.random.default_rng(0).standard_normal(ctx.f.shape, chunks=ctx.chunks)
    ctx.x_cluster = ctx.client.persist(x)
    wait(ctx.x_cluster)
    ctx.client.run(_warm_worker, ctx.x_cluster.dtype.str)
    return cluster


def _warm_worker(dtype: str) -> None:
    """Compile the numba kernel on a worker before timing (as a long-lived worker has)."""
    f = np.random.default_rng(0).standard_normal((6, 6, 6)).astype(dtype)
    daskgrad.gradient(f)
    daskgrad.gradient(f, *[np.cumsum(np.arange(1.0, 7.0))] * 3, edge_order=2)


def main(argv: list[str] | None = None) -> str:
    """Run the benchmark; return (and print, and optionally write) the Markdown report."""
    argv = sys.argv[1:] if argv is None else argv
    args = _parse(argv)
    shape, chunks = (QUICK_SHAPE, QUICK_CHUNKS) if args.quick else (DEFAULT_SHAPE, DEFAULT_CHUNKS)
    repeat = 1 if args.quick else args.repeat
    rng = np.random.default_rng(0)
    f = rng.standard_normal(shape)
    coords = [np.cumsum(rng.uniform(0.5, 1.5, n)) for n in shape]
    ctx = Ctx(f=f, chunks=chunks, coords=coords, quick=args.quick)
    cluster = None if args.no_cluster else _start_cluster(ctx)
    try:
        rows = run_cases(ctx, repeat, args.only)
    finally:
        if cluster is not None:
            ctx.client.close()
            cluster.close()
    stream, graph = [], []
    if not args.no_extra:
        stream = streaming_memory(shape, chunks)
        graph = graph_scaling([64, 128] if args.quick else [1024, 2048], 32 if args.quick else 64)
    report = render(ctx, argv, rows, stream, graph)
    print(report)
    if args.out:
        Path(args.out).write_text(report + "\n")
    return report


if __name__ == "__main__":
    main()
