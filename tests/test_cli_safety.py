"""The command never destroys INPUT or another run's OUTPUT (issue 13): OUTPUT overlapping
INPUT however it is spelled, racing runs on one OUTPUT, ``--resume`` after INPUT changed,
and ``--period`` without ``--periodic``. Real subprocesses, real files, a real S3 server
on 127.0.0.1."""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import requires_distributed, requires_xarray, requires_zarr
from tests.test_cli import (
    DIMS,
    assert_same_values,
    reference,
    run_cli,
    sample,
    start_cli,
    tree_state,
)

pytestmark = [requires_xarray, requires_zarr, requires_distributed, pytest.mark.slow]
SMALL = ["--workers", "1", "--threads-per-worker", "2", "--no-dashboard", "--no-progress"]
BUSY = "is being written by another daskgrad run"


def snapshot(root: Path) -> dict[str, tuple]:
    """Every entry under ``root``, symlinks as links (not followed): what, size, mtime, hash."""
    out: dict[str, tuple] = {}
    for base, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(base, name)
            st = path.lstat()
            if path.is_symlink():
                out[str(path)] = ("link", os.readlink(path))
            elif path.is_dir():
                out[str(path)] = ("dir",)
            else:
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                out[str(path)] = ("file", st.st_size, st.st_mtime_ns, digest)
    return out


def write_store(path: Path, ntime: int = 2) -> Path:
    """A small Zarr store as users write it: ``to_zarr`` defaults (format 3)."""
    ds = sample(ntime=ntime, nlat=10, nlon=12).chunk({"time": 1})
    ds.to_zarr(path, consolidated=False)
    return path


def assert_refused(proc: subprocess.CompletedProcess, *words: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("daskgrad: error:"), proc.stderr
    for word in words:
        assert word in lines[0], lines[0]


# ---------------------------------------------------------------- overlap
def test_output_overlapping_input_is_refused_and_nothing_is_touched(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    src = write_store(real / "in.zarr")
    (tmp_path / "alias").symlink_to(real, target_is_directory=True)
    other = tmp_path / "other"
    other.mkdir()
    (tmp_path / "out-link.zarr").symlink_to(other, target_is_directory=True)
    # INPUT whose variable directory lives inside an old OUTPUT, linked back
    old = write_store(tmp_path / "old.zarr")
    linked = write_store(tmp_path / "linked.zarr")
    shutil.move(linked / "t2m", old / "t2m_data")
    (linked / "t2m").symlink_to(old / "t2m_data", target_is_directory=True)
    cases = [
        (src, tmp_path / "alias" / "in.zarr", "INPUT"),  # same store through a symlinked parent
        (src, src / "sub.zarr", "INPUT"),  # OUTPUT inside INPUT
        (src, real, "INPUT"),  # INPUT inside OUTPUT
        (src, "file://" + str(src), "INPUT"),  # a file:// URL of INPUT
        (linked, old, "symlink"),  # a symlink from INPUT into OUTPUT
        (src, tmp_path / "out-link.zarr", "symbolic link"),  # OUTPUT itself a symlink
    ]
    before = snapshot(tmp_path)
    for i, (input_, output, word) in enumerate(cases):
        for mode in ("--overwrite", "--resume")[: 2 if i == 0 else 1]:
            proc = run_cli("gradient", input_, output, *DIMS, mode, *SMALL, cwd=tmp_path)
            assert_refused(proc, word)
    assert snapshot(tmp_path) == before


def test_output_among_the_files_of_a_glob_is_refused(tmp_path):
    ds = sample(ntime=3, nlat=10, nlon=12)
    for i in range(3):
        ds.isel(time=[i]).to_netcdf(tmp_path / f"part_{i}.nc")
    before = snapshot(tmp_path)
    proc = run_cli("gradient", "part_*.nc", "part_1.nc", *DIMS, "--overwrite", *SMALL, cwd=tmp_path)
    assert_refused(proc, "part_1.nc")
    assert snapshot(tmp_path) == before


def test_output_through_a_bind_mount_of_input_is_refused(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    src = write_store(real / "in.zarr")
    bound = tmp_path / "bound"
    bound.mkdir()
    try:
        made = subprocess.run(
            ["mount", "--bind", str(real), str(bound)], capture_output=True, timeout=30
        )
    except (OSError, subprocess.SubprocessError) as exc:
        pytest.skip(f"mount --bind unavailable: {exc}")
    if made.returncode != 0:
        pytest.skip(f"mount --bind not permitted: {made.stderr.decode().strip()}")
    try:
        assert os.path.realpath(bound / "in.zarr") != os.path.realpath(src)  # realpath can't see
        before = snapshot(real)
        for output in (bound / "in.zarr", bound / "in.zarr" / "sub.zarr"):
            proc = run_cli("gradient", src, output, *DIMS, "--overwrite", *SMALL, cwd=tmp_path)
            assert_refused(proc, "INPUT")
        assert snapshot(real) == before
    finally:
        subprocess.run(["umount", str(bound)], check=True, timeout=30)


def test_s3_output_under_the_s3_input_is_refused(s3_server, tmp_path):  # noqa: F811
    ds = sample(ntime=2, nlat=10, nlon=12).chunk({"time": 1})
    url = s3_server.url("in.zarr")
    ds.to_zarr(url, storage_options=s3_server.options, consolidated=False)
    fs = s3_server.filesystem()
    before = {k: v["ETag"] for k, v in fs.find(url, detail=True).items()}
    opts = ["--storage-options", s3_server.options_json]
    for output in (url, url + "/inner.zarr", "s3a://" + url[5:]):
        proc = run_cli("gradient", url, output, *DIMS, "--overwrite", *opts, *SMALL, cwd=tmp_path)
        assert_refused(proc, "INPUT")
    fs.invalidate_cache()
    assert {k: v["ETag"] for k, v in fs.find(url, detail=True).items()} == before
    assert not fs.exists(url.rsplit("/", 1)[0] + "/.in.zarr.daskgrad-lock")


def test_period_without_periodic_is_refused(tmp_path):
    src = write_store(tmp_path / "in.zarr")
    proc = run_cli("gradient", src, "o.zarr", "--dim", "lon", "--period", "lon=360", cwd=tmp_path)
    assert_refused(proc, "--periodic longitude")
    assert not (tmp_path / "o.zarr").exists()


# ---------------------------------------------------------------- racing runs
def _finish(proc: subprocess.Popen) -> tuple[int, str]:
    _, err = proc.communicate(timeout=300)
    return proc.returncode, err


def test_racing_runs_never_both_write(tmp_path):
    src = write_store(tmp_path / "in.zarr", ntime=4)
    before = tree_state(src)
    out = tmp_path / "out.zarr"
    lock = tmp_path / ".out.zarr.daskgrad-lock"
    argv = ("gradient", src, out, *DIMS, "--var", "t2m", *SMALL)
    first, second = start_cli(*argv, cwd=tmp_path), start_cli(*argv, cwd=tmp_path)
    results = sorted([_finish(first), _finish(second)])
    assert [rc for rc, _ in results] == [0, 2], results
    assert BUSY in results[1][1] or "exists" in results[1][1], results[1][1]
    # B with --overwrite while A runs: refused, A unharmed
    a = start_cli(*argv[:3], *DIMS, "--var", "t2m", "--overwrite", *SMALL, cwd=tmp_path)
    deadline = time.monotonic() + 120
    while not lock.exists() and a.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert lock.exists(), "run A never claimed OUTPUT"
    b = run_cli(*argv, "--overwrite", cwd=tmp_path)
    assert_refused(b, BUSY, f"pid {a.pid}")
    rc, err = _finish(a)
    assert rc == 0, err
    assert not lock.exists()
    import xarray as xr

    with xr.open_zarr(src, consolidated=False) as ds:
        assert_same_values(out, reference(ds[["t2m"]], ["latitude", "longitude"]))
    assert tree_state(src) == before


# ---------------------------------------------------------------- resume on changed INPUT
def _dead_pid() -> int:
    proc = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(proc.stdout)


def _drop_one_chunk(out: Path, name: str) -> None:
    meta = {"zarr.json", ".zarray", ".zattrs"}
    chunks = sorted(p for p in (out / name).rglob("*") if p.is_file() and p.name not in meta)
    chunks[-1].unlink()  # what a run killed before that chunk leaves


def test_resume_takes_over_a_dead_run_and_refuses_a_changed_input(tmp_path):
    import json

    import xarray as xr

    src = write_store(tmp_path / "in.zarr", ntime=4)
    out = tmp_path / "out.zarr"
    argv = ("gradient", src, out, *DIMS, "--var", "t2m", *SMALL)
    assert (proc := run_cli(*argv, cwd=tmp_path)).returncode == 0, proc.stderr
    _drop_one_chunk(out, "dt2m_dlatitude")
    # the claim a SIGKILLed run leaves: its pid gone on this host
    stale = {"pid": _dead_pid(), "host": socket.gethostname(), "started": time.time() - 60}
    (tmp_path / ".out.zarr.daskgrad-lock").write_text(json.dumps(stale))
    proc = run_cli(*argv, "--resume", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "wrote 1 of" in proc.stdout, proc.stdout
    assert not (tmp_path / ".out.zarr.daskgrad-lock").exists()
    # a live run's claim is not taken over, even by --resume
    live = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}
    (tmp_path / ".out.zarr.daskgrad-lock").write_text(json.dumps(live))
    holder = subprocess.Popen(  # holds the lock as a live run does
        [
            sys.executable,
            "-c",
            "import fcntl,sys,time; f=open(sys.argv[1],'r+'); "
            "fcntl.flock(f, fcntl.LOCK_EX); print(1, flush=True); time.sleep(60)",
            str(tmp_path / ".out.zarr.daskgrad-lock"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "1"
        assert_refused(run_cli(*argv, "--resume", cwd=tmp_path), BUSY)
    finally:
        holder.kill()
        holder.wait()
    (tmp_path / ".out.zarr.daskgrad-lock").unlink()
    # one INPUT chunk changed between the partial run and the resume
    _drop_one_chunk(out, "dt2m_dlatitude")
    with xr.open_zarr(src, consolidated=False) as ds:
        patch = ds[["t2m"]].isel(time=[2]).load() + 1.0
    patch.drop_vars(["latitude", "longitude", "time"]).to_zarr(
        src, region={"time": slice(2, 3)}, consolidated=False
    )
    state = tree_state(out)
    proc = run_cli(*argv, "--resume", cwd=tmp_path)
    assert_refused(proc, "INPUT changed", "t2m", "--overwrite starts again")
    assert tree_state(out) == state


def test_resume_refuses_a_changed_netcdf_input(tmp_path):
    ds = sample(ntime=2, nlat=10, nlon=12)
    ds.to_netcdf(tmp_path / "in.nc")
    argv = ("gradient", "in.nc", "out.zarr", *DIMS, "--var", "msl", *SMALL)
    assert (proc := run_cli(*argv, cwd=tmp_path)).returncode == 0, proc.stderr
    changed = ds.copy(deep=True)
    changed["msl"][0, 0, 0] += 1.0
    changed.to_netcdf(tmp_path / "in.nc", mode="w")
    state = tree_state(tmp_path / "out.zarr")
    proc = run_cli(*argv, "--resume", cwd=tmp_path)
    assert_refused(proc, "INPUT changed", "in.nc", "--overwrite starts again")
    assert tree_state(tmp_path / "out.zarr") == state


def test_s3_output_is_claimed_with_a_create_exclusive_object(s3_server):  # noqa: F811
    from daskgrad._paths import claim_output, claims
    from daskgrad._usage import UsageError

    out = s3_server.url("out.zarr")
    fs = s3_server.filesystem()
    with claims():
        first = claim_output(out, s3_server.options)
        assert first.lock == out.rsplit("/", 1)[0] + "/.out.zarr.daskgrad-lock"
        with pytest.raises(UsageError, match=BUSY):
            claim_output(out, s3_server.options)
    fs.invalidate_cache()
    assert not fs.exists(first.lock)
    # the put is conditional (If-None-Match: *): of two writers racing, one fails
    racing = [fs.open(first.lock, "xb"), fs.open(first.lock, "xb")]
    for f in racing:
        f.write(b"{}")
    racing[0].close()
    with pytest.raises(FileExistsError):
        racing[1].close()
    fs.rm(first.lock)
