"""Smoke test: every benchmark body runs once on tiny inputs (no timing asserts)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import numpy as np
import pytest

from daskgrad._compat import dask_array_expr_enabled

from .helpers import requires_dask, requires_distributed, requires_numba, requires_xarray

pytestmark = [requires_numba, requires_dask, requires_xarray]

BENCH_DIR = Path(__file__).resolve().parents[1] / "benchmarks"


def _script(name):
    """Import ``benchmarks/<name>.py`` as a module."""
    sys.path.insert(0, str(BENCH_DIR))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(BENCH_DIR))


def _skip_if_array_expr(feature: str) -> None:
    """Skip in Dask's array-expr mode, which lacks ``feature`` (Dask's, not daskgrad's)."""
    if dask_array_expr_enabled():
        pytest.skip(f"dask's array-expr mode (DASK_ARRAY__QUERY_PLANNING=True) has no {feature}")


def _lacks_da_gradient(case) -> bool:
    """Whether ``case`` times ``dask.array.gradient``, which array-expr mode lacks."""
    return "dask.array.gradient" in case.method and dask_array_expr_enabled()


@pytest.fixture(scope="module")
def bench():
    return _script("bench_gradient")


def _ctx(bench):
    rng = np.random.default_rng(0)
    f = rng.standard_normal(bench.QUICK_SHAPE)
    coords = [np.cumsum(rng.uniform(0.5, 1.5, n)) for n in f.shape]
    return bench.Ctx(f=f, chunks=bench.QUICK_CHUNKS, coords=coords, quick=True)


def _local_cases(bench):
    return [
        (case.method, kind)
        for case in bench.CASES
        if "LocalCluster" not in case.method
        for kind in case.spacings
    ]


def test_every_local_case_runs_once_and_matches_numpy(bench):
    ctx = _ctx(bench)
    ran = left_out = 0
    for case in bench.CASES:
        if bench._skip(case, ctx, None):
            continue
        if _lacks_da_gradient(case):
            left_out += len(case.spacings)
            continue
        for kind in case.spacings:
            run, info = case.setup(ctx, kind)
            out = run()
            if info.get("check"):
                bench._check(ctx, case, kind, out)
            assert bench._memory(case, run, ctx) >= 0
            ran += 1
    assert ran == len(_local_cases(bench)) - (0 if bench._has("torch") else 2) - left_out


@pytest.mark.slow
@requires_distributed
def test_cluster_cases_run_once(bench):
    _skip_if_array_expr("dask.array.gradient (a LocalCluster case)")
    ctx = _ctx(bench)
    cluster = bench._start_cluster(ctx)
    try:
        rows = bench.run_cases(ctx, repeat=1, only="LocalCluster")
    finally:
        ctx.client.close()
        cluster.close()
    assert {r.method for r in rows} == {c.method for c in bench.CASES if "LocalCluster" in c.method}
    assert all(r.tasks_per_chunk is not None for r in rows)


def test_extra_tables_and_report(bench, tmp_path):
    _skip_if_array_expr("dask.array.gradient (in the streaming-memory and report tables)")
    stream = bench.streaming_memory((4, 6, 5), (2, 3, 3))
    graph = bench.graph_scaling([16, 32], 8)
    assert len(stream) == 9 and len(graph) == 8
    assert {row[-1] for row in graph if row[0] == "daskgrad"} >= {5 * 8, 5 * 64}
    out = tmp_path / "report.md"
    report = bench.main(["--quick", "--no-cluster", "--no-extra", "--out", str(out)])
    assert out.read_text().strip() == report.strip()
    assert "| **daskgrad, NumPy in memory** | coords |" in report
    assert "OPENBLAS_CORETYPE" in report


@requires_distributed
def test_cluster_task_stream_runs():
    """The LocalCluster diagnosis script runs and attributes every daskgrad task kind."""
    _skip_if_array_expr("Array.npartitions (used by benchmarks/cluster_task_stream.py)")
    results = _script("cluster_task_stream").main(["--quick"])
    wall, rows = results["daskgrad"]
    assert wall > 0
    kinds = {kind for kind, action in rows if action == "compute"}
    assert kinds == {"faces", "kernel", "d0", "d1", "d2"}
    assert rows[("kernel", "compute")][0] == 8  # one kernel per chunk of (8, 12, 10) in (4, 6, 5)
    assert {kind for kind, _ in results["Dask floor"][1]} == {"copy_block", "pick"}


def test_streaming_memory_script_runs():
    """The streaming-memory script measures both methods at each size."""
    _skip_if_array_expr("dask.array.gradient (one of the two methods measured)")
    script = _script("streaming_memory")
    lines = script.main(["--quick"])
    assert len(lines) == 2 + 8
    rows = [line.split(" | ")[:2] for line in lines[2:]]
    assert [m for m, _ in rows] == ["| daskgrad", "| dask.array.gradient"] * 4
    assert [c for _, c in rows] == ["sum"] * 4 + ["store"] * 4
    for consumer in ("sum", "store"):
        r = script.measure((4, 6, 6), (2, 3, 3), "daskgrad", consumer)
        assert r["held"] > 0 and r["by_kind"]["kernel"] > 0 and r["peak"] > 0


def test_store_memory_script_runs():
    """Issue 11 target 4's script: every method at both sizes, in fresh processes."""
    _skip_if_array_expr("dask.array.gradient (one of the methods measured)")
    lines = _script("store_memory").main(["--quick"])
    assert [line.split(" | ")[0] for line in lines[2:]] == [
        "| elementwise",
        "| geographic gradient",
        "| vorticity",
        "| dask.array.gradient",
    ]


def test_vector_ops_tasks_per_chunk():
    """Issue 11 targets 2-3's task counts, as the benchmark reports them."""
    per = _script("vector_ops").tasks_per_chunk()
    assert per == {
        "geographic gradient, lat+lon (k = 2)": 4.0,
        "vorticity": 2.0,
        "divergence": 2.0,
    }
