"""End-to-end runs of the ``daskgrad`` command on NetCDF input (one file and a glob), on a
terminal (the progress bar), and ``daskgrad demo``: real subprocesses, a real LocalCluster."""

from __future__ import annotations

import os
import pty
import subprocess
import sys

import pytest

from tests.helpers import requires_distributed, requires_xarray, requires_zarr
from tests.test_cli import (
    DIMS,
    assert_same_values,
    cli_env,
    reference,
    run_cli,
    sample,
    tree_state,
    write_zarr,
)
from tests.test_cli_runs import SMALL

pytestmark = [requires_xarray, requires_zarr, requires_distributed, pytest.mark.slow]


def test_netcdf_file_and_glob(tmp_path):
    import xarray as xr

    ds = sample(ntime=5)
    ds.to_netcdf(tmp_path / "one.nc")
    ds.isel(time=slice(0, 2)).to_netcdf(tmp_path / "part_a.nc")
    ds.isel(time=slice(2, None)).to_netcdf(tmp_path / "part_b.nc")
    states = tree_state(tmp_path / "one.nc")
    one = run_cli(
        "gradient",
        "one.nc",
        "one.zarr",
        "--dim",
        "lat",
        "--dim",
        "lon",
        "--var",
        "t2m",
        "--edge-order",
        "2",
        "--chunks",
        "time=2,lat=20",
        *SMALL,
        cwd=tmp_path,
    )
    assert one.returncode == 0, one.stderr
    many = run_cli(
        "gradient",
        "part_*.nc",
        "many.zarr",
        "--dim",
        "time",
        "--dim",
        "lon",
        "--var",
        "msl",
        *SMALL,
        cwd=tmp_path,
    )
    assert many.returncode == 0, many.stderr
    assert tree_state(tmp_path / "one.nc") == states
    expected = reference(
        ds[["t2m"]].chunk({"time": 2, "latitude": 20}), ["latitude", "longitude"], edge_order=2
    )
    assert_same_values(tmp_path / "one.zarr", expected)
    with xr.open_mfdataset(str(tmp_path / "part_*.nc")) as parts:
        expected = reference(parts[["msl"]], ["time", "longitude"])
    assert_same_values(tmp_path / "many.zarr", expected)
    with xr.open_zarr(tmp_path / "many.zarr") as out:  # files of 2 and 3 steps: regular chunks
        assert out["dmsl_dtime"].encoding["chunks"][0] == 3


def test_progress_bar_on_a_terminal(tmp_path):
    src = write_zarr(sample(ntime=2), tmp_path / "in.zarr", {"time": 1})
    primary, secondary = pty.openpty()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "daskgrad",
            "gradient",
            str(src),
            str(tmp_path / "o.zarr"),
            *DIMS,
            "--var",
            "t2m",
            *SMALL,
        ],
        cwd=tmp_path,
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=secondary,
        timeout=180,
    )
    os.close(secondary)
    chunks = []
    while True:
        try:
            data = os.read(primary, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    os.close(primary)
    text = b"".join(chunks).decode()
    assert proc.returncode == 0
    assert "4/4 chunks" in text and "ETA" in text and "/s" in text and "100%" in text


def test_demo(tmp_path):
    proc = run_cli("demo", "--output-dir", tmp_path / "demo", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    png = tmp_path / "demo" / "gradient.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert str(png) in proc.stdout and str(tmp_path / "demo" / "gradient.zarr") in proc.stdout
    import xarray as xr

    with xr.open_zarr(tmp_path / "demo" / "gradient.zarr") as ds:
        assert "dt2m_dlatitude" in ds and "dt2m_dlongitude" in ds
        assert ds["dt2m_dlongitude"].attrs["units"] == "K m-1"
