"""The GPU check runs here, on the CPU: ``benchmarks/gpu_bench.py --dry-run`` (the same
code paths with NumPy arrays, daskgrad through the reference kernel CuPy takes) writes
its table; ``benchmarks/gpu_check.sh`` parses, stops with exit 2 without a driver and
3 without CuPy and network, and runs end to end against a stand-in ``nvidia-smi`` and
a NumPy-backed stand-in ``cupy`` (tiny sizes; the real run is on a GPU machine)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from daskgrad._compat import dask_array_expr_enabled

from .helpers import requires_dask

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "benchmarks" / "gpu_check.sh"
BENCH = REPO / "benchmarks" / "gpu_bench.py"

requires_bash = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")

FAKE_SMI = """#!/bin/sh
case "$*" in
  *--query-gpu*) printf 'name, memory.total [MiB], driver_version\\nFake GPU, 1024 MiB, 0.0\\n' ;;
  *) echo "| NVIDIA-SMI 0.0    Driver Version: 0.0    CUDA Version: 13.0 |" ;;
esac
"""

# NumPy dressed as CuPy: only what gpu_bench.py, gpu_check.sh and tests/helpers.py use
FAKE_CUPY = """
import time as _time

import numpy as _np
from numpy import *  # noqa: F403

__version__ = "0+fake"
ndarray = _np.ndarray


def asnumpy(a):
    return _np.array(a)


class _Pool:
    def free_all_blocks(self):
        pass


def get_default_memory_pool():
    return _Pool()


class _Event:
    def record(self):
        self.t = _time.perf_counter()

    def synchronize(self):
        pass


class _Device:
    id = 0

    def synchronize(self):
        pass


class _Runtime:
    getDeviceCount = staticmethod(lambda: 1)
    runtimeGetVersion = staticmethod(lambda: 13000)
    driverGetVersion = staticmethod(lambda: 13000)

    @staticmethod
    def getDeviceProperties(i):
        return {"name": b"Fake GPU", "major": 9, "minor": 0, "multiProcessorCount": 1,
                "totalGlobalMem": 2**30, "memoryClockRate": 1000, "memoryBusWidth": 64}


class cuda:
    Event = _Event
    Device = _Device
    runtime = _Runtime

    @staticmethod
    def get_elapsed_time(a, b):
        return (b.t - a.t) * 1e3
"""


def _check_table(text: str, device: str) -> None:
    lines = text.splitlines()
    assert any(device in line for line in lines if line.startswith("- device"))
    assert any(line.startswith("- device copy bandwidth") for line in lines)
    rows = [line for line in lines if line.startswith("| (")]
    # 3 inputs × (daskgrad, peer) × (in memory, Dask)
    assert len(rows) == 12, text
    assert sum("**daskgrad.gradient**" in r for r in rows) == 6
    assert sum("dask.array.gradient" in r for r in rows) == 3
    if dask_array_expr_enabled():  # that mode has no dask.array.gradient: reported, not run
        rows = [r for r in rows if "Dask" not in r]
    assert all("bit-identical" in r for r in rows), text
    for r in rows:
        cells = [c.strip() for c in r.strip("|").split("|")]
        assert float(cells[3].replace(",", "")) > 0  # best ms
        assert float(cells[6]) > 0  # × floor
        assert cells[7].endswith("×")  # speed-up vs the peer
    assert "FAIL" not in text


@requires_dask
def test_gpu_bench_dry_run_writes_the_table(tmp_path: Path) -> None:
    out = tmp_path / "GPU.md"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--dry-run", "--repeat", "1", "--out", str(out)],
        capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = out.read_text()
    _check_table(text, "CPU")
    assert "dry run" in text.splitlines()[0]
    assert "5.00 |" in text  # daskgrad: 5 tasks per chunk for 3 axes


@requires_bash
def test_gpu_check_parses() -> None:
    subprocess.run(["bash", "-n", str(SCRIPT)], check=True, timeout=30)


def _run_script(tmp_path: Path, path_dirs: list[Path], **env: str) -> subprocess.CompletedProcess:
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in ("OUT", "PYTHONPATH") and not k.startswith(("PIP_", "DASKGRAD_"))
    }
    # no real GPU tools, no pip configuration, an index that refuses connections
    base["PATH"] = os.pathsep.join([*map(str, path_dirs), "/usr/bin", "/bin"])
    base.update(
        PYTHON=sys.executable,
        DASKGRAD_WHEELS=str(tmp_path / "no-wheels"),
        DASKGRAD_SITE=str(tmp_path / "site"),
        DASKGRAD_GPU_TABLE=str(tmp_path / "GPU.md"),
        PIP_CONFIG_FILE=os.devnull,
        PIP_INDEX_URL="http://127.0.0.1:9/simple",
        PIP_RETRIES="0",
        PIP_TIMEOUT="2",
        PIP_NO_INPUT="1",
        **env,
    )
    return subprocess.run(
        ["bash", str(SCRIPT)], capture_output=True, text=True, timeout=150, env=base, cwd=tmp_path
    )


def _fake_smi(tmp_path: Path) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    smi = bin_dir / "nvidia-smi"
    smi.write_text(FAKE_SMI)
    smi.chmod(0o755)
    return bin_dir


@requires_bash
def test_gpu_check_without_a_driver_exits_2(tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    proc = _run_script(tmp_path, [empty])
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "nvidia-smi not found" in proc.stderr


@requires_bash
def test_gpu_check_without_cupy_or_network_exits_3(tmp_path: Path) -> None:
    pytest.importorskip("pip")
    try:
        import cupy  # noqa: F401

        pytest.skip("cupy is importable here")
    except ImportError:
        pass
    proc = _run_script(tmp_path, [_fake_smi(tmp_path)], DASKGRAD_GPU_BUDGET="60")
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "pip install cupy-cuda13x" in proc.stdout  # chosen by the driver's CUDA 13
    assert "no network" in proc.stderr


@requires_bash
@requires_dask
def test_gpu_check_end_to_end_with_stand_ins(tmp_path: Path) -> None:
    pytest.importorskip("hypothesis")
    fake = tmp_path / "fake"
    (fake / "cupy").mkdir(parents=True)
    (fake / "cupy" / "__init__.py").write_text(FAKE_CUPY)
    out = tmp_path / "out"
    proc = _run_script(
        tmp_path,
        [_fake_smi(tmp_path), Path(sys.executable).parent],
        PYTHONPATH=str(fake),
        OUT=str(out),
        DASKGRAD_GPU_XDIST="0",
        DASKGRAD_GPU_PYTEST_ARGS="-k torch_form",
        DASKGRAD_GPU_BENCH_ARGS="--small --repeat 1",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Fake GPU, 1024 MiB" in proc.stdout  # nvidia-smi's line
    assert "2 passed" in proc.stdout  # the two torch-form gpu tests, on the stand-in
    text = (out / "GPU.md").read_text()
    assert text == (tmp_path / "GPU.md").read_text()
    assert text.splitlines()[0] == "# daskgrad on a GPU"
    _check_table(text, "Fake GPU")
    assert (out / "pytest-gpu.log").is_file() and (out / "gpu-bench.log").is_file()
