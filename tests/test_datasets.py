"""daskgrad.datasets: the synthetic climate sample and the sphere grid."""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers import requires_dask, requires_xarray

pytestmark = requires_xarray

xr = pytest.importorskip("xarray")
from daskgrad.datasets import climate, sphere_grid  # noqa: E402


def test_climate_layout_and_cf_attrs():
    ds = climate()
    assert dict(ds.sizes) == {"time": 4, "latitude": 73, "longitude": 144}
    assert list(ds.data_vars) == ["t2m", "msl", "u10", "v10"]
    lat, lon = ds.latitude.values, ds.longitude.values
    assert lat[0] == 90.0 and lat[-1] == -90.0 and np.all(np.diff(lat) < 0)
    assert lon[0] == 0.0 and lon[-1] == 357.5
    assert ds.latitude.attrs["units"] == "degrees_north" and ds.latitude.attrs["axis"] == "Y"
    assert ds.longitude.attrs["standard_name"] == "longitude"
    assert ds.longitude.attrs["units"] == "degrees_east" and ds.longitude.attrs["axis"] == "X"
    assert ds.time.dtype.kind == "M"
    assert np.all(np.diff(ds.time.values) == np.timedelta64(1, "D"))
    units = {k: ds[k].attrs["units"] for k in ds.data_vars}
    assert units == {"t2m": "K", "msl": "Pa", "u10": "m s-1", "v10": "m s-1"}
    for name, var in ds.data_vars.items():
        assert var.dims == ("time", "latitude", "longitude")
        assert var.dtype == np.float32, name
        assert {"units", "long_name", "standard_name"} <= set(var.attrs)
        assert np.isfinite(var).all()


def test_climate_values_are_plausible():
    ds = climate(ntime=2, nlat=37, nlon=72)
    assert 230 < float(ds.t2m.min()) and float(ds.t2m.max()) < 320
    assert 98000 < float(ds.msl.min()) and float(ds.msl.max()) < 104000
    assert float(abs(ds.u10).max()) < 15 and float(abs(ds.v10).max()) < 15
    assert float(ds.t2m.sel(latitude=0).mean()) > float(ds.t2m.sel(latitude=90).mean()) + 30


def test_climate_seed():
    a, b = climate(ntime=1, nlat=5, nlon=8), climate(ntime=1, nlat=5, nlon=8)
    xr.testing.assert_identical(a, b)
    c = climate(ntime=1, nlat=5, nlon=8, seed=1)
    assert not np.array_equal(a.t2m.values, c.t2m.values)
    np.testing.assert_allclose(a.t2m.values, c.t2m.values, atol=1.0)  # only the noise differs


@requires_dask
def test_climate_chunks():
    ds = climate(ntime=3, nlat=19, nlon=36, chunks={"time": 1, "latitude": 10})
    assert ds.t2m.chunks == ((1, 1, 1), (10, 9), (36,))
    xr.testing.assert_identical(ds.compute(), climate(ntime=3, nlat=19, nlon=36))


def test_errors():
    with pytest.raises(ValueError, match="ntime"):
        climate(ntime=0)
    with pytest.raises(ValueError, match="nlat"):
        sphere_grid(1, 8)


def test_sphere_grid():
    g = sphere_grid(5, 8, lat_descending=False, lon_start=-180.0)
    assert g.latitude.values.tolist() == [-90.0, -45.0, 0.0, 45.0, 90.0]
    assert g.longitude.values.tolist() == [-180.0, -135.0, -90.0, -45.0, 0.0, 45.0, 90.0, 135.0]
    assert not g.data_vars


@requires_dask
def test_climate_example_writes_png(tmp_path):
    pytest.importorskip("matplotlib")
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parents[1] / "examples" / "climate.py"
    spec = importlib.util.spec_from_file_location("climate_example", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = module.main([str(tmp_path / "maps.png"), "--nlat", "19", "--nlon", "36"])
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
