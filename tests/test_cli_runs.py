"""End-to-end runs of the ``daskgrad`` command: real subprocesses, a real LocalCluster
(worker processes on 127.0.0.1), real Zarr and NetCDF files."""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers import requires_distributed, requires_xarray, requires_zarr
from tests.test_cli import (
    DIMS,
    assert_same_values,
    data_chunk_files,
    reference,
    run_cli,
    sample,
    tree_state,
    write_zarr,
)

pytestmark = [requires_xarray, requires_zarr, requires_distributed, pytest.mark.slow]
SMALL = ["--workers", "1", "--threads-per-worker", "2", "--no-dashboard"]


@pytest.fixture(scope="module")
def zarr_run(tmp_path_factory):
    """One clean run on a Zarr store with ragged chunks on both differentiated dims."""
    tmp = tmp_path_factory.mktemp("zarr_run")
    src = write_zarr(sample(), tmp / "in.zarr", {"time": 1, "latitude": 16, "longitude": 30})
    before = tree_state(src)
    out = tmp / "out.zarr"
    proc = run_cli("gradient", src, out, *DIMS, "--geographic", *SMALL, cwd=tmp)
    return src, out, before, proc


def test_zarr_run_writes_the_accessor_result(zarr_run):
    import xarray as xr

    src, out, _, proc = zarr_run
    assert proc.returncode == 0, proc.stderr
    assert "wrote 288 of 288 chunks" in proc.stdout
    assert proc.stderr.count("\n") <= 3 and "[#" not in proc.stderr  # not a TTY: no bar
    with xr.open_zarr(src) as ds:
        expected = reference(ds, ["latitude", "longitude"], geographic=True)
    assert_same_values(out, expected)


def test_zarr_output_chunks_are_the_computation_chunks(zarr_run):
    import zarr

    _, out, _, _ = zarr_run
    group = zarr.open_group(out, mode="r")
    for name in ("dt2m_dlatitude", "dmsl_dlongitude"):
        assert group[name].chunks == (1, 16, 30)
    assert len(data_chunk_files(out)) == 8 * 4 * 3 * 3  # every chunk written, none missing


def test_output_attrs_record_the_command(zarr_run):
    import json

    import xarray as xr

    _, out, _, _ = zarr_run
    with xr.open_zarr(out) as ds:
        assert "daskgrad gradient" in ds.attrs["history"] and "--geographic" in ds.attrs["history"]
        args = json.loads(ds.attrs["daskgrad_arguments"])
        assert args["dims"] == ["latitude", "longitude"] and args["geographic"] is True
        assert ds["dt2m_dlongitude"].attrs["units"].startswith("K")
        assert ds["latitude"].attrs.get("units") == "degrees_north"


def test_input_is_never_written(zarr_run):
    src, _, before, _ = zarr_run
    assert tree_state(src) == before


def test_overwrite_replaces_a_previous_output(zarr_run, tmp_path):
    import shutil

    import xarray as xr

    src, out, _, _ = zarr_run
    copy = tmp_path / "o.zarr"
    shutil.copytree(out, copy)
    over = run_cli(
        "gradient",
        src,
        copy,
        "--dim",
        "longitude",
        "--var",
        "u10",
        "--overwrite",
        *SMALL,
        cwd=tmp_path,
    )
    assert over.returncode == 0, over.stderr
    with xr.open_zarr(copy) as ds:
        assert list(ds.data_vars) == ["du10_dlongitude"]
        assert "--overwrite" in ds.attrs["history"]


def test_resume_rewrites_only_missing_chunks(zarr_run, tmp_path):
    import shutil

    src, out, _, _ = zarr_run
    copy = tmp_path / "o.zarr"
    shutil.copytree(out, copy)
    chunks = sorted(data_chunk_files(copy))
    removed = chunks[::7]
    for p in removed:
        p.unlink()
    kept = {str(p): p.stat().st_mtime_ns for p in chunks if p not in removed}
    proc = run_cli("gradient", src, copy, *DIMS, "--geographic", "--resume", *SMALL, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert f"wrote {len(removed)} of {len(chunks)} chunks" in proc.stdout
    assert {str(p): p.stat().st_mtime_ns for p in chunks if p not in removed} == kept
    for name in ("dt2m_dlatitude", "dv10_dlongitude"):
        import xarray as xr

        with xr.open_zarr(copy) as a, xr.open_zarr(out) as b:
            np.testing.assert_array_equal(a[name].values, b[name].values)


def test_resume_with_other_arguments_refused(zarr_run, tmp_path):
    src, out, _, _ = zarr_run
    before = tree_state(out)
    proc = run_cli(
        "gradient",
        src,
        out,
        *DIMS,
        "--edge-order",
        "2",
        "--geographic",
        "--resume",
        *SMALL,
        cwd=tmp_path,
        timeout=60,
    )
    assert proc.returncode == 2 and "edge_order" in proc.stderr
    proc = run_cli(
        "gradient",
        src,
        out,
        *DIMS,
        "--geographic",
        "--resume",
        "--chunks",
        "time=2",
        *SMALL,
        cwd=tmp_path,
        timeout=60,
    )
    assert proc.returncode == 2 and "chunks" in proc.stderr
    assert tree_state(out) == before


def test_nan_policy(tmp_path):
    """--nan-policy omit writes the accessor's nan_policy="omit" result (land as gaps);
    raise fails the run with one line; an unknown policy is a usage error; resuming
    with another policy is refused."""
    import xarray as xr

    ds = sample(ntime=2, nlat=10, nlon=12)
    land = np.zeros(ds.t2m.shape[1:], bool)
    land[3:6, 4:8] = True
    ds["t2m"] = ds.t2m.where(~land)
    src = write_zarr(ds, tmp_path / "in.zarr", {"time": 1, "latitude": 4})
    args = ["gradient", src, "out.zarr", *DIMS, "--var", "t2m", "--geographic", *SMALL]
    proc = run_cli(*args, "--nan-policy", "omit", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    with xr.open_zarr(src) as stored:
        expected = reference(
            stored[["t2m"]], ["latitude", "longitude"], geographic=True, nan_policy="omit"
        )
        spread = reference(stored[["t2m"]], ["latitude", "longitude"], geographic=True)
    assert_same_values(tmp_path / "out.zarr", expected)
    assert np.isnan(spread.dt2m_dlongitude).sum() > np.isnan(expected.dt2m_dlongitude).sum()
    again = run_cli(*args, "--resume", cwd=tmp_path)  # recorded: omit
    assert again.returncode == 2 and "nan_policy" in again.stderr, again.stderr
    bad = run_cli(*args, "--nan-policy", "ignore", "--overwrite", cwd=tmp_path)
    assert bad.returncode == 2 and "invalid choice" in bad.stderr
    proc = run_cli(*args[:2], "raised.zarr", *args[3:], "--nan-policy", "raise", cwd=tmp_path)
    assert proc.returncode == 1
    lines = [x for x in proc.stderr.splitlines() if not x.startswith("cluster: ")]
    assert len(lines) == 1 and "contains NaN (nan_policy='raise')" in lines[0], proc.stderr
