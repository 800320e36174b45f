"""``daskgrad vorticity`` and ``daskgrad divergence``: real subprocesses, a real
LocalCluster, real Zarr and NetCDF; the oracle is the library's own
:func:`daskgrad.vorticity` / :func:`daskgrad.divergence` on the same data (those are
proven against analytic fields and xarray in tests/test_vector.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.helpers import requires_distributed, requires_xarray, requires_zarr
from tests.test_cli import cli_array_expr, run_cli, sample, tree_state, write_zarr
from tests.test_cli_runs import SMALL

pytestmark = [requires_xarray, requires_zarr, requires_distributed, pytest.mark.slow]


def assert_values(got, want, rtol: float = 0.0) -> None:
    """The command's values are the library's: bit for bit, except that dask's
    array-expression mode (the command's, against classic-mode oracles) may round a
    float32 operator result differently by an ulp or two of the field (seen: 1.4e-7)."""
    if cli_array_expr() and np.dtype(want.dtype) == np.float32:
        eps = 4 * np.finfo(np.float32).eps  # relative to each value and to the field's peak
        np.testing.assert_allclose(got, want, rtol=eps, atol=eps * np.nanmax(np.abs(want)))
    elif rtol:
        np.testing.assert_allclose(got, want, rtol=rtol)
    else:
        np.testing.assert_array_equal(got, want)


def _input(tmp_path, land: bool = False):
    ds = sample(ntime=2, nlat=10, nlon=12)
    if land:
        mask = np.zeros(ds.u10.shape[1:], bool)
        mask[3:6, 4:8] = True
        ds["u10"] = ds.u10.where(~mask)
        ds["v10"] = ds.v10.where(~mask)
    return write_zarr(ds, tmp_path / "in.zarr", {"time": 1, "latitude": 4})


def _expected(src, command: str, **kw):
    import xarray as xr

    import daskgrad

    with xr.open_zarr(src) as ds:
        return getattr(daskgrad, command)(ds.u10, ds.v10, **kw).compute()


@pytest.mark.parametrize("command", ["vorticity", "divergence"])
def test_geographic_run_writes_the_library_result(tmp_path, command):
    import xarray as xr

    src = _input(tmp_path, land=True)
    before = tree_state(src)
    args = [command, src, "out.zarr", "--u", "u10", "--v", "v10", "--geographic"]
    proc = run_cli(*args, "--nan-policy", "omit", *SMALL, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert f"chunks ({command})" in proc.stdout
    assert tree_state(src) == before
    want = _expected(src, command, geographic=True, nan_policy="omit")
    with xr.open_zarr(tmp_path / "out.zarr", chunks=None) as got:
        assert list(got.data_vars) == [command]
        assert_values(got[command].values, want.values)
        assert got[command].dims == want.dims
        assert got[command].attrs["units"] == want.attrs["units"] == "s-1"
        assert got[command].attrs["long_name"] == want.attrs["long_name"]
        recorded = json.loads(got.attrs["daskgrad_arguments"])
        assert recorded["command"] == command and recorded["variables"] == ["u10", "v10"]
        assert got[command].encoding["chunks"] == (1, 4, 12)  # the computation's chunks
    plain = _expected(src, command, geographic=True)
    assert np.isnan(plain.values).sum() > np.isnan(want.values).sum()  # omit keeps the coast


def test_cartesian_dims_and_netcdf(tmp_path):
    """--dim X --dim Y on a NetCDF input (x then y, as the library's ``dims``)."""
    import xarray as xr

    import daskgrad

    ds = sample(ntime=2, nlat=10, nlon=12)
    ds.to_netcdf(tmp_path / "in.nc")
    args = ["divergence", "in.nc", "out.zarr", "--u", "u10", "--v", "v10"]
    proc = run_cli(*args, "--dim", "lon", "--dim", "lat", "--edge-order", "2", *SMALL, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    want = daskgrad.divergence(ds.u10, ds.v10, dims=("longitude", "latitude"), edge_order=2)
    with xr.open_zarr(tmp_path / "out.zarr", chunks=None) as got:
        assert_values(got.divergence.values, want.values, rtol=1e-12)


def test_resume_of_another_command_is_refused(tmp_path):
    src = _input(tmp_path)
    args = [src, "out.zarr", "--u", "u10", "--v", "v10", "--geographic", *SMALL]
    assert run_cli("vorticity", *args, cwd=tmp_path).returncode == 0
    before = tree_state(tmp_path / "out.zarr")
    proc = run_cli("divergence", *args, "--resume", cwd=tmp_path)
    assert proc.returncode == 2 and "different command" in proc.stderr, proc.stderr
    grad = ["gradient", src, "out.zarr", "--dim", "lat", "--dim", "lon", "--geographic"]
    proc = run_cli(*grad, "--var", "u10", "--resume", *SMALL, cwd=tmp_path)
    assert proc.returncode == 2 and "command" in proc.stderr, proc.stderr
    assert tree_state(tmp_path / "out.zarr") == before
    proc = run_cli("vorticity", *args, "--resume", cwd=tmp_path)  # the same: nothing to do
    assert proc.returncode == 0 and "wrote 0 of" in proc.stdout, proc.stderr


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (["--u", "nope", "--v", "v10"], "--u nope: unknown variable"),
        (["--u", "u10", "--v", "nope"], "--v nope: unknown variable"),
        (["--u", "u10"], "the following arguments are required: --v"),
        (["--u", "u10", "--v", "v10", "--dim", "lon"], "--dim: expected two dims"),
        (["--u", "u10", "--v", "v10", "--dim", "lon", "--dim", "lon"], "expected two dims"),
        (["--u", "u10", "--v", "v10", "--dim", "nope", "--dim", "lat"], "unknown dim 'nope'"),
        (["--u", "u10", "--v", "v10", "--nan-policy", "skip"], "invalid choice"),
        (["--u", "u10", "--v", "v10", "--datetime-unit", "s"], "unrecognized arguments"),
        (["--u", "u10", "--v", "v10", "--dim", "lat", "--dim", "lon", "--geographic"], "dims:"),
    ],
)
def test_usage_errors_are_one_line(tmp_path, extra, match):
    src = _input(tmp_path)
    proc = run_cli("vorticity", src, "out.zarr", *extra, *SMALL, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and match in proc.stderr, proc.stderr
    assert not (tmp_path / "out.zarr").exists()


def test_u_and_v_on_different_grids_refused(tmp_path):
    import xarray as xr

    ds = sample(ntime=2, nlat=10, nlon=12)
    ds["v10"] = xr.DataArray(np.zeros((2, 12)), dims=("time", "longitude"))
    ds.to_netcdf(tmp_path / "in.nc")
    proc = run_cli("vorticity", "in.nc", "o.zarr", "--u", "u10", "--v", "v10", cwd=tmp_path)
    assert proc.returncode == 2 and "must be on the same grid" in proc.stderr, proc.stderr


def test_curvilinear_input(tmp_path):
    """2-D nav_lat/nav_lon (a NEMO-style rotated grid): gradient --dim lat --dim lon
    --geographic and vorticity write the library's eastward/northward results."""
    import xarray as xr

    import daskgrad
    from tests.test_curvilinear import _field, rotated_grid

    lat, lon = rotated_grid(13, 17, 40.0, 10.0)  # across the +-180 seam
    f = np.stack([_field(lat, lon)] * 2).astype("float32")
    coords = {
        "nav_lat": (("y", "x"), lat, {"standard_name": "latitude"}),
        "nav_lon": (("y", "x"), lon, {"standard_name": "longitude"}),
    }
    dims = ("time", "y", "x")
    ds = xr.Dataset(
        {"sst": (dims, f, {"units": "K"}), "u": (dims, f), "v": (dims, 2 * f)}, coords=coords
    )
    ds.to_netcdf(tmp_path / "in.nc")
    grad = ["gradient", "in.nc", "g.zarr", "--dim", "lat", "--dim", "lon", "--geographic"]
    proc = run_cli(*grad, "--var", "sst", *SMALL, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    want = ds[["sst"]].grad.gradient(["nav_lat", "nav_lon"], geographic=True)
    with xr.open_zarr(tmp_path / "g.zarr", chunks=None) as got:
        assert sorted(got.data_vars) == ["dsst_dnav_lat", "dsst_dnav_lon"]
        for name in got.data_vars:
            assert_values(got[name].values, want[name].values)
        assert got.dsst_dnav_lon.attrs["units"] == "K m-1"
        np.testing.assert_array_equal(got.nav_lon.values, lon)
    proc = run_cli(
        "vorticity", "in.nc", "z.zarr", "--u", "u", "--v", "v", "--geographic", *SMALL, cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    zeta = daskgrad.vorticity(ds.u, ds.v, geographic=True)
    with xr.open_zarr(tmp_path / "z.zarr", chunks=None) as got:
        assert_values(got.vorticity.values, zeta.values)
    bad = run_cli(*grad[:3], "--dim", "y", "--geographic", *SMALL, cwd=tmp_path)
    assert bad.returncode == 2 and "on a curvilinear grid" in bad.stderr, bad.stderr
