"""The fused kernel compiles once per machine (numba's on-disk cache), safely: many
processes filling one empty cache at once, a read-only install (no writable cache
place at all), and the cached code giving NumPy's bits. Each case runs in fresh
interpreters, as CLI workers and scripts do."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("numba")

ROOT = Path(__file__).resolve().parents[1]

# Bit-identical to numpy.gradient, float64 2-D and float32 3-D (serial and threaded
# kernels, two dtypes); prints which cache numba used for the sweep.
CHECK = textwrap.dedent(
    """
    import numpy as np, daskgrad
    from daskgrad.kernels import _numba_sweep
    rng = np.random.default_rng(0)
    a = rng.random((73, 144))
    b = rng.random((8, 73, 144)).astype(np.float32)
    for f in (a, b):
        for got, want in zip(daskgrad.gradient(f), np.gradient(f)):
            assert got.dtype == want.dtype and np.array_equal(got, want)
    print(type(_numba_sweep.sweep_parallel._cache).__name__)
    """
)


def _start(env_extra: dict, pythonpath: Path = ROOT) -> subprocess.Popen:
    # The fused kernel from the first call on (the default would use the reference
    # for these small blocks: tests/test_first_call.py).
    env = dict(os.environ, PYTHONPATH=str(pythonpath), DASKGRAD_KERNEL="numba", **env_extra)
    return subprocess.Popen(
        [sys.executable, "-W", "error", "-c", CHECK],
        cwd=pythonpath,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(proc: subprocess.Popen) -> str:
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, out + err
    return out.strip()


def test_many_processes_fill_one_empty_cache(tmp_path):
    """Three interpreters compile into the same empty cache at once; all succeed, the
    cache holds entries, and a fourth process loads them and gives the same bits."""
    cache = tmp_path / "numba-cache"
    procs = [_start({"NUMBA_CACHE_DIR": str(cache)}) for _ in range(3)]
    assert {_finish(p) for p in procs} == {"FunctionCache"}
    assert list(cache.rglob("*.nbi")) and list(cache.rglob("*.nbc"))
    assert _finish(_start({"NUMBA_CACHE_DIR": str(cache)})) == "FunctionCache"


def test_read_only_install_compiles_without_cache(tmp_path):
    """No writable place for a cache (``__pycache__`` cannot be made beside the
    package, nor numba's user-wide directory): the kernel compiles per process and
    gives the same bits, with no warning (``-W error``)."""
    site = tmp_path / "site"
    shutil.copytree(
        ROOT / "daskgrad", site / "daskgrad", ignore=shutil.ignore_patterns("__pycache__")
    )
    for pkg in (site / "daskgrad", site / "daskgrad" / "kernels"):
        (pkg / "__pycache__").write_text("")  # a file: the directory cannot be created
    env = {"HOME": "/dev/null", "NUMBA_CACHE_DIR": "/dev/null/numba"}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    assert _finish(_start(env, pythonpath=site)) == "NullCache"
