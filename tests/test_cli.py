"""The ``daskgrad`` command: help, argument and input errors (fast, in-process), plus the
helpers the slower CLI test files share (real subprocesses, real Zarr/NetCDF files)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import requires_distributed, requires_xarray, requires_zarr

pytestmark = [requires_xarray, requires_zarr, requires_distributed]

REPO = Path(__file__).resolve().parents[1]
DIMS = ["--dim", "latitude", "--dim", "longitude"]


# ---------------------------------------------------------------- shared helpers
def cli_env() -> dict[str, str]:
    """Environment for a ``python -m daskgrad`` subprocess that finds this source tree
    (in dask's array-expression mode when ``DASKGRAD_TEST_CLI_QUERY_PLANNING`` says so:
    tests/conftest.py)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    mode = env.pop("DASKGRAD_TEST_CLI_QUERY_PLANNING", None)
    if mode is not None:
        env["DASK_ARRAY__QUERY_PLANNING"] = mode
    return env


def cli_array_expr() -> bool:
    """Whether the command runs in dask's array-expression mode (:func:`cli_env`)."""
    mode = cli_env().get("DASK_ARRAY__QUERY_PLANNING", "")
    return mode.strip().lower() in {"1", "true", "yes", "on"}


def run_cli(*args: str, cwd: Path, timeout: float = 180) -> subprocess.CompletedProcess:
    """Run the command in a real subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "daskgrad", *map(str, args)],
        cwd=cwd,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def start_cli(*args: object, cwd: Path) -> subprocess.Popen:
    """Start the command in a real subprocess (output captured as text) without waiting."""
    return subprocess.Popen(
        [sys.executable, "-m", "daskgrad", *map(str, args)],
        cwd=cwd,
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def sigkill_with_workers(proc: subprocess.Popen) -> None:
    """SIGKILL the command mid-run, as a crash does, and wait until its orphaned local
    workers are gone (they stop by themselves once their nanny's parent is dead)."""
    import signal

    import psutil

    try:
        children = psutil.Process(proc.pid).children(recursive=True)
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    _, alive = psutil.wait_procs(children, timeout=30)
    for child in alive:  # pragma: no cover - only if a worker outlived its nanny
        child.kill()


def sample(ntime: int = 4, nlat: int = 37, nlon: int = 72, **kw):
    """A small climate-style dataset (the teammates' sample generator)."""
    from daskgrad.datasets import climate

    return climate(ntime=ntime, nlat=nlat, nlon=nlon, **kw)


def write_zarr(ds, path: Path, chunks: dict) -> Path:
    ds.chunk(chunks).to_zarr(path, mode="w-", zarr_format=2, consolidated=True)
    return path


def tree_state(path: Path) -> dict[str, tuple]:
    """(size, mtime_ns, sha256) of every file under ``path`` (or of the file itself)."""
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    return {
        str(p.relative_to(path.parent)): (
            p.stat().st_size,
            p.stat().st_mtime_ns,
            hashlib.sha256(p.read_bytes()).hexdigest(),
        )
        for p in files
    }


def data_chunk_files(store: Path) -> list[Path]:
    """The chunk (or shard) files of a store's ``d*`` arrays, Zarr format 2 or 3 (no
    metadata, no temporary files)."""
    return [
        p
        for array in store.glob("d*")
        if array.is_dir()
        for p in array.rglob("*")
        if p.is_file()
        and not p.name.startswith(".")
        and p.name != "zarr.json"
        and ".partial" not in p.name
    ]


def reference(ds, dims: list[str], **kw):
    """The accessor computed in-process: what the command must write."""
    import daskgrad.xarray  # noqa: F401

    return ds.grad.gradient(dims, **kw).compute()


def assert_same_values(out_path: Path, expected) -> None:
    """Every expected variable is in the store with exactly the same values and attrs."""
    import xarray as xr

    with xr.open_zarr(out_path) as out:
        assert sorted(out.data_vars) == sorted(expected.data_vars)
        for name, var in expected.data_vars.items():
            got = out[name].load()
            np.testing.assert_array_equal(got.values, var.values, err_msg=name)
            assert got.dims == var.dims
            for key in ("units", "long_name"):
                assert got.attrs.get(key) == var.attrs.get(key), (name, key)


# ---------------------------------------------------------------- help
def test_help_lists_commands(capsys):
    from daskgrad.cli import main

    assert main(["--help"]) == 0
    text = capsys.readouterr().out
    assert "demo" in text and "gradient" in text


def test_gradient_help_reads_well(capsys):
    from daskgrad.cli import main

    assert main(["gradient", "--help"]) == 0
    text = capsys.readouterr().out
    for flag in (
        "--dim",
        "--var",
        "--edge-order",
        "--geographic",
        "--periodic",
        "--period",
        "--chunks",
        "--scheduler",
        "--tls-ca",
        "--workers",
        "--threads-per-worker",
        "--memory-limit",
        "--no-dashboard",
        "--no-progress",
        "--resume",
        "--overwrite",
    ):
        assert flag in text, flag
    assert "examples:" in text


# ---------------------------------------------------------------- usage errors: exit 2, one line
@pytest.fixture(scope="module")
def small_zarr(tmp_path_factory) -> Path:
    return write_zarr(sample(), tmp_path_factory.mktemp("in") / "in.zarr", {"time": 1})


def _usage_error(capsys, argv: list[str], match: str) -> None:
    from daskgrad.cli import main

    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("daskgrad: error: "), err
    assert match in err, err
    assert "Traceback" not in err


def test_missing_input(capsys, tmp_path):
    _usage_error(
        capsys,
        ["gradient", str(tmp_path / "nope.zarr"), str(tmp_path / "o.zarr"), *DIMS],
        "input not found",
    )


def test_missing_glob(capsys, tmp_path):
    _usage_error(
        capsys,
        ["gradient", str(tmp_path / "*.nc"), str(tmp_path / "o.zarr"), *DIMS],
        "input not found",
    )


def test_unknown_variable(capsys, small_zarr, tmp_path):
    _usage_error(
        capsys,
        ["gradient", str(small_zarr), str(tmp_path / "o.zarr"), *DIMS, "--var", "sst"],
        "unknown variable 'sst'",
    )


def test_unknown_dim(capsys, small_zarr, tmp_path):
    _usage_error(
        capsys,
        ["gradient", str(small_zarr), str(tmp_path / "o.zarr"), "--dim", "depth"],
        "unknown dim 'depth'",
    )


@pytest.mark.parametrize("chunks", ["time", "time=0", "time=x", "time=1,time=2", "=3"])
def test_bad_chunks(capsys, small_zarr, tmp_path, chunks):
    _usage_error(
        capsys,
        ["gradient", str(small_zarr), str(tmp_path / "o.zarr"), *DIMS, "--chunks", chunks],
        "--chunks",
    )


def test_chunks_with_unknown_dim(capsys, small_zarr, tmp_path):
    _usage_error(
        capsys,
        ["gradient", str(small_zarr), str(tmp_path / "o.zarr"), *DIMS, "--chunks", "level=1"],
        "unknown dim 'level'",
    )


def test_unreadable_store(capsys, tmp_path):
    bad = tmp_path / "bad.zarr"
    bad.mkdir()
    (bad / ".zgroup").write_text("{not json")
    _usage_error(capsys, ["gradient", str(bad), str(tmp_path / "o.zarr"), *DIMS], "cannot read")


def test_unreadable_netcdf(capsys, tmp_path):
    bad = tmp_path / "bad.nc"
    bad.write_bytes(b"this is not a netCDF file")
    _usage_error(capsys, ["gradient", str(bad), str(tmp_path / "o.zarr"), *DIMS], "cannot read")


def test_existing_output_refused(capsys, small_zarr, tmp_path):
    out = tmp_path / "o.zarr"
    out.mkdir()
    before = tree_state(out)
    _usage_error(capsys, ["gradient", str(small_zarr), str(out), *DIMS], "--overwrite")
    assert tree_state(out) == before


def test_overwrite_refuses_non_zarr_directory(capsys, small_zarr, tmp_path):
    out = tmp_path / "precious"
    out.mkdir()
    (out / "thesis.txt").write_text("years of work")
    _usage_error(
        capsys,
        ["gradient", str(small_zarr), str(out), *DIMS, "--overwrite", "--workers", "1"],
        "not a Zarr store",
    )
    assert (out / "thesis.txt").read_text() == "years of work"


def test_output_may_not_be_input(capsys, small_zarr):
    before = tree_state(small_zarr)
    _usage_error(
        capsys,
        ["gradient", str(small_zarr), str(small_zarr), *DIMS, "--overwrite"],
        "would overwrite INPUT",
    )
    assert tree_state(small_zarr) == before


def test_resume_of_foreign_store_refused(capsys, small_zarr, tmp_path):
    _usage_error(
        capsys,
        [
            "gradient",
            str(small_zarr),
            str(small_zarr.parent / "x.zarr"),
            *DIMS,
            "--resume",
            "--var",
            "nope",
        ],
        "unknown variable",
    )
    other = write_zarr(sample(ntime=1), tmp_path / "other.zarr", {"time": 1})
    _usage_error(capsys, ["gradient", str(small_zarr), str(other), *DIMS, "--resume"], "not made")


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (["--resume", "--overwrite"], "not allowed with"),
        (["--edge-order", "3"], "invalid choice"),
        (["--nan-policy", "Omit"], "invalid choice"),
        (["--workers", "0"], "--workers must be at least 1"),
        (["--memory-limit", "lots"], "--memory-limit"),
        (["--period", "lon"], "--period"),
        (["--scheduler", "tls://127.0.0.1:1"], "needs --tls-ca"),
        (["--scheduler", "tcp://127.0.0.1:1", "--workers", "2"], "--workers configures"),
        (["--tls-ca", "ca.pem"], "need --scheduler tls://"),
    ],
)
def test_bad_options(capsys, small_zarr, tmp_path, extra, match):
    _usage_error(
        capsys, ["gradient", str(small_zarr), str(tmp_path / "o.zarr"), *DIMS, *extra], match
    )


def test_missing_tls_file(capsys, small_zarr, tmp_path):
    _usage_error(
        capsys,
        [
            "gradient",
            str(small_zarr),
            str(tmp_path / "o.zarr"),
            *DIMS,
            "--scheduler",
            "tls://127.0.0.1:1",
            "--tls-ca",
            "ca.pem",
            "--tls-cert",
            "c.pem",
            "--tls-key",
            "k.pem",
        ],
        "TLS file not found",
    )


def test_accessor_errors_are_usage_errors(capsys, small_zarr, tmp_path):
    # a periodic latitude with coordinates needs a period: the accessor says so
    _usage_error(
        capsys,
        [
            "gradient",
            str(small_zarr),
            str(tmp_path / "o.zarr"),
            "--dim",
            "latitude",
            "--periodic",
            "latitude",
        ],
        "period",
    )


def test_subprocess_error_is_one_line_without_traceback(tmp_path):
    proc = run_cli(
        "gradient", tmp_path / "missing.zarr", tmp_path / "o.zarr", *DIMS, cwd=tmp_path, timeout=60
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "Traceback" not in proc.stderr
    assert "input not found" in proc.stderr
    assert not (tmp_path / "o.zarr").exists()
