"""``nan_policy`` through the labeled layers: the ``.grad`` accessor, ``divergence``
and ``vorticity``, against the run-by-run ``numpy.gradient`` oracle of
tests/test_nan_policy.py (NumPy- and Dask-backed, any chunking, geographic metrics)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers import requires_dask, requires_xarray
from tests.test_nan_policy import _coords, _field, omit_oracle

pytestmark = [requires_xarray, requires_dask, pytest.mark.dask]

CHUNKS = {"numpy": None, "size-1": 1, "ragged": (3, 1, 5, 2, 4), "single": -1}


def _dataset(mask: str = "blobs", seed: int = 3):
    import xarray as xr

    f = _field((6, 15), mask, seed)
    y, x = _coords(6, seed + 2), _coords(15, seed + 3)
    return xr.Dataset({"sst": (("y", "x"), f, {"units": "K"})}, coords={"y": y, "x": x}), f, y, x


def _chunk(obj, chunks):
    return obj if chunks is None else obj.chunk({"x": chunks, "y": 2})


@pytest.mark.parametrize("chunks", list(CHUNKS.values()), ids=list(CHUNKS))
@pytest.mark.parametrize("edge_order", [1, 2])
def test_differentiate_and_gradient_equal_the_oracle(chunks, edge_order):
    ds, f, y, x = _dataset()
    obj = _chunk(ds, chunks)
    got = obj.sst.grad.differentiate("x", edge_order=edge_order, nan_policy="omit").compute()
    want = omit_oracle(f, 1, x=x, edge_order=edge_order)
    np.testing.assert_allclose(got.values, want, rtol=1e-12, atol=1e-12, equal_nan=True)
    assert got.dims == ("y", "x") and got.name == "sst"
    g = obj.grad.gradient(["y", "x"], edge_order=edge_order, nan_policy="omit").compute()
    want_y = omit_oracle(f, 0, x=y, edge_order=edge_order)
    np.testing.assert_allclose(g.dsst_dy.values, want_y, rtol=1e-12, atol=1e-12, equal_nan=True)
    np.testing.assert_allclose(g.dsst_dx.values, want, rtol=1e-12, atol=1e-12, equal_nan=True)


def test_default_is_xarray_differentiate():
    ds, *_ = _dataset("dense")
    got = ds.sst.grad.differentiate("x")
    np.testing.assert_array_equal(got.values, ds.sst.differentiate("x").values)
    assert np.isnan(got.values).sum() > np.isnan(ds.sst.values).sum()  # NaN spreads


def test_periodic_longitude_with_land():
    """A geographic grid with land: runs wrap across the date line, per metre."""
    import daskgrad  # noqa: F401
    from daskgrad.datasets import sphere_grid

    g = sphere_grid(7, 24)
    t = (np.cos(np.deg2rad(g.longitude)) * np.cos(np.deg2rad(g.latitude))).transpose(
        "latitude", "longitude"
    )
    land = np.zeros(t.shape, bool)
    land[:, 5:9] = True  # a continent
    land[2, [0, 23]] = True  # and an island on the date line
    t = t.where(~land)
    for obj in (t, t.chunk({"longitude": 5})):
        got = obj.grad.differentiate("longitude", geographic=True, nan_policy="omit").compute()
        lon, lat = g.longitude.values, g.latitude.values
        per_degree = omit_oracle(t.values, 1, x=lon, periodic=True, period=360.0)
        radians_per_degree = np.pi / 180.0
        metric = 6371008.8 * np.cos(np.deg2rad(lat))[:, None] * radians_per_degree
        with np.errstate(divide="ignore"):
            want = per_degree / metric
        ok = np.abs(lat) < 90
        np.testing.assert_allclose(got.values[ok], want[ok], rtol=1e-10, equal_nan=True)
        assert np.isnan(got.values[land]).all()


@pytest.mark.parametrize("chunks", [None, 2])
def test_divergence_and_vorticity(chunks):
    import daskgrad

    ds, f, y, x = _dataset("isolated")
    u = ds.sst.rename("u")
    v = (ds.sst * 0.5 + 1.0).rename("v")
    u, v = _chunk(u, chunks), _chunk(v, chunks)
    div = daskgrad.divergence(u, v, dims=("x", "y"), nan_policy="omit").compute()
    vort = daskgrad.vorticity(u, v, dims=("x", "y"), nan_policy="omit").compute()
    fv = f * 0.5 + 1.0
    want_div = omit_oracle(f, 1, x=x) + omit_oracle(fv, 0, x=y)
    want_vort = omit_oracle(fv, 1, x=x) - omit_oracle(f, 0, x=y)
    np.testing.assert_allclose(div.values, want_div, rtol=1e-12, atol=1e-12, equal_nan=True)
    np.testing.assert_allclose(vort.values, want_vort, rtol=1e-12, atol=1e-12, equal_nan=True)
    plain = daskgrad.divergence(u, v, dims=("x", "y")).compute()
    assert np.isnan(plain.values).sum() > np.isnan(div.values).sum()


def test_raise_and_bad_policy():
    import daskgrad

    ds, *_ = _dataset("isolated")
    with pytest.raises(ValueError, match="contains NaN"):
        ds.sst.grad.differentiate("x", nan_policy="raise")
    lazy = ds.chunk({"x": 4}).grad.gradient("x", nan_policy="raise")  # lazy: raises on compute
    with pytest.raises(ValueError, match="contains NaN"):
        lazy.compute()
    for call in (
        lambda: ds.grad.differentiate("x", nan_policy="ignore"),
        lambda: ds.grad.gradient(nan_policy="Omit"),
        lambda: daskgrad.divergence(ds.sst, ds.sst, dims=("x", "y"), nan_policy=None),
        lambda: daskgrad.vorticity(ds.sst, ds.sst, dims=("x", "y"), nan_policy="nan"),
    ):
        with pytest.raises(ValueError, match="nan_policy: expected"):
            call()
