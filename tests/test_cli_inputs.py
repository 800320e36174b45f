"""End-to-end runs of the ``daskgrad`` command on inputs as users have them (Zarr format 2
and 3, consolidated or not, sharded; NetCDF3, packed NetCDF4, a glob; ``file://`` and S3
URLs), on a terminal (the progress bar), and ``daskgrad demo``: real subprocesses, a real
LocalCluster, a real S3 server on 127.0.0.1."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from tests.helpers import requires_distributed, requires_xarray, requires_zarr
from tests.test_cli import (
    DIMS,
    cli_array_expr,
    reference,
    run_cli,
    sample,
    tree_state,
)
from tests.test_cli_runs import SMALL

pytestmark = [requires_xarray, requires_zarr, requires_distributed, pytest.mark.slow]


NLAT, NLON = 10, 12


def _plain_zarr(ds, path):
    with warnings.catch_warnings():  # to_zarr's own note on consolidated metadata in format 3
        warnings.simplefilter("ignore")
        ds.chunk({"time": 1}).to_zarr(path)  # what users write today: format 3, consolidated
    return str(path)


def _sharded(ds, path):
    enc = {"t2m": {"chunks": (1, NLAT, NLON), "shards": (2, NLAT, NLON)}}
    ds.chunk({"time": 2}).to_zarr(path, encoding=enc, consolidated=False)
    return str(path)


def _packed(ds, path):
    """NETCDF4 int16 with scale_factor/add_offset/_FillValue, as ERA5 ships, and a NaN."""
    ds = ds.copy(deep=True)
    ds["t2m"][1, 3, 4] = np.nan
    enc = {
        "t2m": {
            "dtype": "int16",
            "scale_factor": 0.01,
            "add_offset": 280.0,
            "_FillValue": np.int16(-32767),
        }
    }
    ds.to_netcdf(path, format="NETCDF4", encoding=enc)
    return str(path)


def _glob(ds, path):
    for i, part in enumerate((slice(0, 1), slice(1, 2), slice(2, None))):
        ds.isel(time=part).to_netcdf(path.parent / f"part_{i}.nc")
    return str(path.parent / "part_*.nc")


INPUTS = {
    "zarr3": _plain_zarr,
    "zarr2": lambda ds, p: ds.chunk({"time": 1}).to_zarr(p, zarr_format=2) and str(p),
    "zarr3-unconsolidated": lambda ds, p: ds.to_zarr(p, consolidated=False) and str(p),
    "zarr3-sharded": _sharded,
    "file-url": lambda ds, p: "file://" + _plain_zarr(ds, p),
    "netcdf3": lambda ds, p: ds.to_netcdf(p, format="NETCDF3_64BIT") or str(p),
    "netcdf4-packed": _packed,
    "netcdf-glob": _glob,
}


def _expected(spec: str, storage_options=None):
    """The accessor's result on the dataset as xarray opens it by default."""
    import xarray as xr

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # no consolidated metadata
        if "*" in spec:
            ds = xr.open_mfdataset(spec, combine="by_coords")
        elif spec.endswith(".nc"):
            ds = xr.open_dataset(spec, chunks={})
        else:
            ds = xr.open_dataset(spec, engine="zarr", chunks={}, storage_options=storage_options)
        return reference(ds[["t2m"]], ["latitude", "longitude"])


def _assert_close(out, expected) -> None:
    import xarray as xr

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with xr.open_zarr(out) as got:
            assert sorted(got.data_vars) == sorted(expected.data_vars)
            for name, var in expected.data_vars.items():
                assert got[name].dtype == var.dtype, name
                np.testing.assert_allclose(
                    got[name].values, var.values, rtol=1e-10, atol=0, equal_nan=True, err_msg=name
                )
                assert got[name].attrs.get("units") == var.attrs.get("units")


@pytest.mark.parametrize("kind", list(INPUTS))
def test_inputs_as_users_have_them(kind, tmp_path):
    ds = sample(ntime=4, nlat=NLAT, nlon=NLON)
    name = "in.nc" if kind.startswith("netcdf") else "in.zarr"
    spec = INPUTS[kind](ds, tmp_path / name)
    states = {p.name: tree_state(p) for p in tmp_path.iterdir()}
    proc = run_cli("gradient", spec, "out.zarr", *DIMS, "--var", "t2m", *SMALL, cwd=tmp_path)
    if kind == "netcdf-glob" and cli_array_expr():  # open_mfdataset fails there: refused
        assert proc.returncode == 2 and "array-expression mode" in proc.stderr, proc.stderr
        assert proc.stderr.count("\n") == 1 and not (tmp_path / "out.zarr").exists()
        return
    assert proc.returncode == 0, proc.stderr
    assert {p.name: tree_state(p) for p in tmp_path.iterdir() if p.name != "out.zarr"} == states
    expected = _expected(spec[len("file://") :] if kind == "file-url" else spec)
    if kind == "netcdf4-packed":
        assert np.isnan(expected["dt2m_dlatitude"].values).any()
    _assert_close(tmp_path / "out.zarr", expected)


def test_s3_input(s3_server, tmp_path):  # noqa: F811
    ds = sample(ntime=4, nlat=NLAT, nlon=NLON).chunk({"time": 1})
    url = s3_server.url("in.zarr")
    ds.to_zarr(url, storage_options=s3_server.options, consolidated=False)
    fs = s3_server.filesystem()
    before = {k: (v["ETag"], v["LastModified"]) for k, v in fs.find(url, detail=True).items()}
    opts = ["--storage-options", s3_server.options_json]
    proc = run_cli("gradient", url, "out.zarr", *DIMS, "--var", "t2m", *opts, *SMALL, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    _assert_close(tmp_path / "out.zarr", _expected(url, s3_server.options))
    fs.invalidate_cache()
    assert {
        k: (v["ETag"], v["LastModified"]) for k, v in fs.find(url, detail=True).items()
    } == before
    assert s3_server.options["secret"] not in "".join(
        p.read_text(errors="replace") for p in (tmp_path / "out.zarr").rglob("*") if p.is_file()
    )


def test_bad_storage_options_is_a_usage_error(tmp_path):
    proc = run_cli(
        "gradient", "in.zarr", "o.zarr", "--dim", "x", "--storage-options", "{key:", cwd=tmp_path
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "--storage-options" in proc.stderr, proc.stderr


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
