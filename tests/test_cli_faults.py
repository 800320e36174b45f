"""Faults in the middle of a run: a worker process killed (distributed retries its tasks),
and the command itself SIGKILLed (``--resume`` finishes the store). Both end with exactly
the values of a clean run."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import (
    listening_sockets,
    requires_distributed,
    requires_xarray,
    requires_zarr,
)
from tests.test_cli import (
    DIMS,
    data_chunk_files,
    run_cli,
    sample,
    sigkill_with_workers,
    start_cli,
    write_zarr,
)

pytestmark = [requires_xarray, requires_zarr, requires_distributed, pytest.mark.slow]
ARGS = [*DIMS, "--var", "t2m", "--var", "msl", "--no-dashboard"]
TOTAL = 4 * 20 * 2 * 2  # 4 outputs x 20 times x 2 x 2 blocks


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("faults")
    src = write_zarr(
        sample(ntime=20, nlat=37, nlon=72),
        tmp / "in.zarr",
        {"time": 1, "latitude": 20, "longitude": 36},
    )
    out = tmp / "clean.zarr"
    proc = run_cli("gradient", src, out, *ARGS, "--workers", "1", cwd=tmp)
    assert proc.returncode == 0, proc.stderr
    assert f"wrote {TOTAL} of {TOTAL} chunks" in proc.stdout
    return src, out


def _start(src: Path, out: Path, *extra: str) -> subprocess.Popen:
    return start_cli("gradient", src, out, *ARGS, *extra, cwd=out.parent)


def _wait_for_chunks(out: Path, proc: subprocess.Popen, at_least: int) -> int:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        n = len(data_chunk_files(out)) if out.exists() else 0
        if n >= at_least:
            return n
        time.sleep(0.02)
    raise AssertionError(f"run ended or stalled before {at_least} chunks: {proc.poll()}")


def _worker_processes(pid: int) -> list:
    import psutil

    return [
        p
        for p in psutil.Process(pid).children(recursive=True)
        if "spawn_main" in " ".join(p.cmdline())
    ]


def _assert_equal_stores(a: Path, b: Path) -> None:
    import xarray as xr

    with xr.open_zarr(a) as x, xr.open_zarr(b) as y:
        assert sorted(x.data_vars) == sorted(y.data_vars)
        for name in x.data_vars:
            np.testing.assert_array_equal(x[name].values, y[name].values, err_msg=name)


def test_killed_worker_is_retried_and_the_run_completes(clean, tmp_path):
    src, reference = clean
    out = tmp_path / "out.zarr"
    proc = _start(src, out, "--workers", "2", "--threads-per-worker", "1")
    try:
        written = _wait_for_chunks(out, proc, 8)
        workers = _worker_processes(proc.pid)
        assert len(workers) == 2, workers
        listening = [ip for ip, _ in listening_sockets([proc.pid, *(w.pid for w in workers)])]
        os.kill(workers[0].pid, signal.SIGKILL)
        stdout, stderr = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert written < TOTAL, "the worker was killed after the run had finished"
    assert listening and all(ip == "127.0.0.1" for ip in listening), listening
    assert proc.returncode == 0, stderr
    assert f"wrote {TOTAL} of {TOTAL} chunks" in stdout
    _assert_equal_stores(out, reference)


def test_sigkill_then_resume_equals_a_clean_run(clean, tmp_path):

    src, reference = clean
    out = tmp_path / "out.zarr"
    proc = _start(src, out, "--workers", "1", "--threads-per-worker", "1")
    try:
        _wait_for_chunks(out, proc, 8)
    except BaseException:
        proc.kill()
        raise
    sigkill_with_workers(proc)
    present = len(data_chunk_files(out))
    assert 0 < present < TOTAL, present
    again = run_cli("gradient", src, out, *ARGS, "--workers", "1", "--resume", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert f"wrote {TOTAL - present} of {TOTAL} chunks" in again.stdout
    assert len(data_chunk_files(out)) == TOTAL
    _assert_equal_stores(out, reference)
