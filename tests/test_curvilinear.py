"""Curvilinear grids (2-D latitude/longitude): eastward/northward derivatives, vorticity
and divergence, against (1) the regular path on a meshgrid, (2) an independent oracle
(numpy.gradient of the field and of the unwrapped coordinates, the 2x2 Jacobian inverted
with numpy.linalg.inv point by point), (3) analytic fields on rotated-pole grids, whose
error must fall by 3.5-4.5x per halving of the step."""

from __future__ import annotations

import numpy as np
import pytest

import daskgrad  # registers the .grad accessor
from tests.helpers import raise_if_dask_computes, requires_dask, requires_xarray

pytestmark = [requires_xarray, pytest.mark.dask]

R = 6371008.8


# ------------------------------------------------------------------ grids


def rotated_grid(nlat: int, nlon: int, pole_lat: float, pole_lon: float, span: float = 20.0):
    """True latitude/longitude (degrees, longitude in [-180, 180)) of a rotated-pole grid."""
    from daskgrad.datasets import rotated_pole_grid

    g = rotated_pole_grid(nlat, nlon, pole_lat=pole_lat, pole_lon=pole_lon, span=span)
    return g.lat.values, g.lon.values


def _curvilinear(data, lat, lon, name="f", dims=("y", "x"), attrs=None):
    import xarray as xr

    coords = {
        "lat": (dims[-2:], lat, {"units": "degrees_north"}),
        "lon": (dims[-2:], lon, {"units": "degrees_east"}),
    }
    return xr.DataArray(data, dims=dims, coords=coords, name=name, attrs=attrs or {})


def _regular(data, lat1, lon1, name="f"):
    import xarray as xr

    coords = {
        "latitude": ("latitude", lat1, {"units": "degrees_north"}),
        "longitude": ("longitude", lon1, {"units": "degrees_east"}),
    }
    return xr.DataArray(data, dims=("latitude", "longitude"), coords=coords, name=name)


def _field(lat, lon):
    phi, lam = np.deg2rad(lat), np.deg2rad(lon)
    return np.cos(phi) ** 2 * np.sin(2 * lam) + 0.3 * np.sin(phi)


# ------------------------------------------------------------------ independent oracle


def inverse_jacobian(lat, lon, edge_order=1):
    """Per point, the 2x2 matrix taking (d/dj, d/di) to (d/dE, d/dN): numpy.gradient of
    the unwrapped coordinates, numpy.linalg.inv (non-periodic grid dims)."""
    latj, lati = np.gradient(lat, axis=(0, 1), edge_order=edge_order)
    lonj = np.gradient(np.unwrap(lon, period=360.0, axis=0), axis=0, edge_order=edge_order)
    loni = np.gradient(np.unwrap(lon, period=360.0, axis=1), axis=1, edge_order=edge_order)
    k = np.pi / 180.0 * R
    cos = np.cos(np.deg2rad(lat))
    jac = np.empty(lat.shape + (2, 2))
    jac[..., 0, 0], jac[..., 0, 1] = k * cos * lonj, k * latj
    jac[..., 1, 0], jac[..., 1, 1] = k * cos * loni, k * lati
    return np.linalg.inv(jac)


def apply(inv, fj, fi):
    return inv[..., 0, 0] * fj + inv[..., 0, 1] * fi, inv[..., 1, 0] * fj + inv[..., 1, 1] * fi


def oracle(f, lat, lon, edge_order=1):
    """(d/dE, d/dN) from numpy.gradient of f and :func:`inverse_jacobian`."""
    fj, fi = np.gradient(f, axis=(0, 1), edge_order=edge_order)
    return apply(inverse_jacobian(lat, lon, edge_order), fj, fi)


# ------------------------------------------------------------------ regular meshgrid


@pytest.mark.parametrize("edge_order", [1, 2])
@pytest.mark.parametrize("lon_form", ["0..360", "-180..180"])
@pytest.mark.parametrize("chunks", [None, {"y": 1, "x": 7}, {"y": (3, 1, 9, 4), "x": -1}])
def test_meshgrid_equals_the_regular_path(edge_order, lon_form, chunks):
    """Global grid: x passed as periodic equals the regular path's whole-circle longitude."""
    if chunks is not None:
        pytest.importorskip("dask.array")
    lat1, lon1 = np.linspace(-85.0, 85.0, 17), np.arange(0.0, 360.0, 7.5)
    f = _field(*np.meshgrid(lat1, lon1, indexing="ij"))
    lon2, lat2 = np.meshgrid(lon1, lat1)
    if lon_form == "-180..180":
        lon2 = (lon2 + 180.0) % 360.0 - 180.0
    curv = _curvilinear(f, lat2, lon2)
    curv = curv if chunks is None else curv.chunk(chunks)
    got = curv.grad.gradient(geographic=True, boundary={"x": "periodic"}, edge_order=edge_order)
    want = _regular(f, lat1, lon1).grad.gradient(geographic=True, edge_order=edge_order)
    assert list(got.data_vars) == ["df_dlat", "df_dlon"]
    if chunks is not None:
        assert got.df_dlon.chunks == curv.chunks
        got = got.compute()  # .values of a Dask array-expr array is not its values
    np.testing.assert_allclose(got.df_dlon.values, want.df_dlongitude.values, rtol=1e-10, atol=0)
    np.testing.assert_allclose(got.df_dlat.values, want.df_dlatitude.values, rtol=1e-10, atol=0)


def test_regional_meshgrid_and_float32():
    lat1, lon1 = np.linspace(30.0, 60.0, 13), np.linspace(170.0, 200.0, 16)  # across 180
    lon2, lat2 = np.meshgrid(lon1, lat1)
    f = _field(lat2, lon2).astype(np.float32)
    wrapped = (lon2 + 180.0) % 360.0 - 180.0  # stored in [-180, 180): jumps at 180
    got = _curvilinear(f, lat2, wrapped).grad.gradient(geographic=True)
    want = _regular(f, lat1, lon1).grad.gradient(geographic=True)
    assert got.df_dlon.dtype == np.float32
    np.testing.assert_allclose(got.df_dlon.values, want.df_dlongitude.values, rtol=1e-5)
    np.testing.assert_allclose(got.df_dlat.values, want.df_dlatitude.values, rtol=1e-5)


# ------------------------------------------------------------------ skewed / rotated grids


@pytest.mark.parametrize("pole_lon", [-170.0, 10.0])  # domain across 0; across +-180
@pytest.mark.parametrize("edge_order", [1, 2])
def test_rotated_grid_equals_the_oracle(pole_lon, edge_order):
    lat, lon = rotated_grid(21, 31, 40.0, pole_lon)
    if pole_lon == 10.0:
        assert lon.max() - lon.min() > 300  # the domain crosses the +-180 seam
    f = _field(lat, lon)
    got = _curvilinear(f, lat, lon).grad.gradient(geographic=True, edge_order=edge_order)
    east, north = oracle(f, lat, lon, edge_order)
    np.testing.assert_allclose(got.df_dlon.values, east, rtol=1e-9, atol=1e-12 * abs(east).max())
    np.testing.assert_allclose(got.df_dlat.values, north, rtol=1e-9, atol=1e-12 * abs(north).max())


def _errors(n: int, pole_lon: float) -> dict[str, float]:
    """Max errors at the coarsest grid's points >= 2 of its steps from the edges, on a
    grid refined n times (2**n * 10 + 1 by 2**n * 14 + 1 points, nested)."""

    step = 2**n
    lat, lon = rotated_grid(10 * step + 1, 14 * step + 1, 40.0, pole_lon)
    phi, lam = np.deg2rad(lat), np.deg2rad(lon)
    f = np.cos(phi) * np.sin(2 * lam)
    u, v = 10 * np.sin(phi) * np.sin(lam), 10 * np.cos(lam)  # psi = U R cos(phi) sin(lam)
    uc, vc = -10 * np.sin(lam), -10 * np.sin(phi) * np.cos(lam)  # chi = U R cos(phi) cos(lam)
    exact = {
        "east": 2 * np.cos(2 * lam) / R,
        "north": -np.sin(phi) * np.sin(2 * lam) / R,
        "vorticity": -20 * np.cos(phi) * np.sin(lam) / R,
        "divergence": -20 * np.cos(phi) * np.cos(lam) / R,
    }
    g = _curvilinear(f, lat, lon).grad.gradient(geographic=True)
    got = {
        "east": g.df_dlon.values,
        "north": g.df_dlat.values,
        "vorticity": daskgrad.vorticity(
            _curvilinear(u, lat, lon), _curvilinear(v, lat, lon), geographic=True
        ).values,
        "divergence": daskgrad.divergence(
            _curvilinear(uc, lat, lon), _curvilinear(vc, lat, lon), geographic=True
        ).values,
    }
    pick = (slice(2 * step, -2 * step, step), slice(2 * step, -2 * step, step))
    return {k: float(np.abs(got[k] - exact[k])[pick].max()) for k in exact}


@pytest.mark.parametrize("pole_lon", [-170.0, 10.0])
def test_second_order_convergence_on_rotated_pole_grids(pole_lon):
    errors = [_errors(n, pole_lon) for n in range(3)]
    for key in errors[0]:
        for coarse, fine in zip(errors, errors[1:], strict=False):
            assert 3.5 <= coarse[key] / fine[key] <= 4.5, (key, [e[key] for e in errors])


# ------------------------------------------------------------------ laziness, NaN


@requires_dask
def test_lazy_with_dask_data_and_dask_coordinates():
    import dask.array as da

    lat, lon = rotated_grid(12, 18, 40.0, 10.0)
    f = np.stack([_field(lat, lon), 2 * _field(lat, lon)])
    eager = _curvilinear(f, lat, lon, dims=("t", "y", "x"))
    lazy = eager.chunk({"t": 1, "y": 5, "x": (4, 1, 13)})
    lazy = lazy.assign_coords(
        lat=(("y", "x"), da.from_array(lat, chunks=(7, 9)), {"units": "degrees_north"}),
        lon=(("y", "x"), da.from_array(lon, chunks=(7, 9)), {"units": "degrees_east"}),
    )
    with raise_if_dask_computes():
        got = lazy.grad.gradient(geographic=True, edge_order=2)
    assert got.df_dlon.chunks == lazy.chunks
    got = got.compute()
    want = eager.grad.gradient(geographic=True, edge_order=2)
    for name in ("df_dlon", "df_dlat"):
        np.testing.assert_allclose(got[name].values, want[name].values, rtol=1e-12)


def test_nan_policy_omit_on_a_curvilinear_grid():
    """Land: the index derivatives follow nan_policy; east/north NaN where either is."""
    from tests.test_nan_policy import omit_oracle

    lat, lon = rotated_grid(15, 21, 40.0, -170.0)
    f = _field(lat, lon)
    land = np.zeros(f.shape, bool)
    land[5:9, 6:12] = True
    land[2, 3] = True
    f[land] = np.nan
    got = _curvilinear(f, lat, lon).grad.gradient(geographic=True, nan_policy="omit")
    fj, fi = omit_oracle(f, 0), omit_oracle(f, 1)  # run by run, per index
    east, north = apply(inverse_jacobian(lat, lon), fj, fi)
    np.testing.assert_allclose(got.df_dlon.values, east, rtol=1e-9, equal_nan=True)
    np.testing.assert_allclose(got.df_dlat.values, north, rtol=1e-9, equal_nan=True)
    assert np.array_equal(np.isnan(got.df_dlon.values), np.isnan(fj) | np.isnan(fi))
    plain = _curvilinear(f, lat, lon).grad.gradient(geographic=True)
    assert np.isnan(plain.df_dlon.values).sum() > np.isnan(got.df_dlon.values).sum()


# ------------------------------------------------------------------ poles


def test_poles_are_nan_east_and_finite_north_never_inf():

    lat1, lon1 = np.linspace(-90.0, 90.0, 13), np.arange(0.0, 360.0, 15.0)
    lon2, lat2 = np.meshgrid(lon1, lat1)
    f = _field(lat2, lon2)
    got = _curvilinear(f, lat2, lon2).grad.gradient(geographic=True, boundary="none")
    want = _regular(f, lat1, lon1).grad.gradient(geographic=True, boundary="none")
    east, north = got.df_dlon.values, got.df_dlat.values
    assert np.isnan(east[[0, -1]]).all() and np.isfinite(east[1:-1]).all()
    np.testing.assert_allclose(north, want.df_dlatitude.values, rtol=1e-10)
    u = _curvilinear(np.cos(np.deg2rad(lat2)), lat2, lon2)
    zeta = daskgrad.vorticity(u, 0 * u, geographic=True).values
    assert np.isnan(zeta[[0, -1]]).all() and not np.isinf(zeta).any()


# ------------------------------------------------------------------ finding, errors


def test_wrf_and_nemo_style_coordinates():
    """XLAT/XLONG listed in a data variable's ``coordinates`` attribute; nav_lat/nav_lon
    without attrs."""
    import xarray as xr

    lat, lon = rotated_grid(9, 12, 40.0, -170.0)
    f = _field(lat, lon)
    ds = xr.Dataset(
        {
            "T2": (("south_north", "west_east"), f, {"coordinates": "XLONG XLAT"}),
            "XLAT": (("south_north", "west_east"), lat),
            "XLONG": (("south_north", "west_east"), lon),
        }
    )
    got = ds.grad.gradient(geographic=True)
    assert sorted(got.data_vars) == ["dT2_dXLAT", "dT2_dXLONG"]
    east, north = oracle(f, lat, lon)
    np.testing.assert_allclose(got.dT2_dXLONG.values, east, rtol=1e-9)
    nemo = xr.DataArray(
        f, dims=("y", "x"), coords={"nav_lat": (("y", "x"), lat), "nav_lon": (("y", "x"), lon)}
    )
    got = nemo.grad.gradient(["nav_lon"], geographic=True)
    assert list(got.data_vars) == ["dvar_dnav_lon"]
    np.testing.assert_allclose(got.dvar_dnav_lon.values, east, rtol=1e-9)


def test_attrs_per_metre():
    lat, lon = rotated_grid(9, 12, 40.0, -170.0)
    da = _curvilinear(_field(lat, lon), lat, lon, attrs={"units": "K", "long_name": "SST"})
    got = da.grad.gradient(geographic=True)
    assert got.df_dlon.attrs == {"units": "K m-1", "long_name": "eastward derivative of SST"}
    assert got.df_dlat.attrs["long_name"] == "northward derivative of SST"


def test_bad_curvilinear_inputs():
    import xarray as xr

    lat, lon = rotated_grid(9, 12, 40.0, -170.0)
    da = _curvilinear(_field(lat, lon), lat, lon)
    cases = [
        (lambda: da.grad.gradient(["y"], geographic=True), "is a grid dim"),
        (lambda: da.grad.gradient(geographic=True, period=360.0), "period: not used"),
        (lambda: da.grad.gradient(geographic=True, boundary={"lon": "periodic"}), "grid dims"),
        (lambda: da.grad.gradient(geographic=True, boundary="wrap"), "boundary: expected"),
        (lambda: da.grad.differentiate("lon"), r"use \.grad\.gradient\(geographic=True\)"),
        (lambda: da.grad.differentiate("lon", geographic=True), "curvilinear grid use"),
        (lambda: da.grad.gradient(geographic=True, datetime_unit="s"), "datetime_unit"),
    ]
    bad_lat = lat.copy()
    bad_lat[0, 0] = np.nan
    cases.append(
        (
            lambda: _curvilinear(_field(lat, lon), bad_lat, lon).grad.gradient(geographic=True),
            "must be finite",
        )
    )
    mixed = da.assign_coords(lon=("x", lon[0], {"units": "degrees_east"}))
    cases.append((lambda: mixed.grad.gradient(geographic=True), "'lat'.*'lon'.*neither"))
    other = _curvilinear(_field(lat, lon), lat, lon + 1e-3)
    cases.append((lambda: daskgrad.vorticity(da, other, geographic=True), "same points"))
    cases.append(
        (
            lambda: daskgrad.divergence(da, da, dims=("x", "y"), geographic=True),
            "expected \\(longitude, latitude\\)",
        )
    )
    for call, match in cases:
        with pytest.raises(ValueError, match=match):
            call()
    assert isinstance(da.grad.gradient(geographic=True), xr.Dataset)


def test_operators_on_a_meshgrid_approach_the_regular_flux_form():
    """On a meshgrid of a regular grid, the curvilinear (metric-term) vorticity and
    divergence differ from the regular path's flux form by O(h^2): ~4x less per halving."""
    import daskgrad

    def difference(step):
        lat1, lon1 = np.arange(-60.0, 60.0 + step / 2, step), np.arange(0.0, 360.0, step)
        lon2, lat2 = np.meshgrid(lon1, lat1)
        phi, lam = np.deg2rad(lat2), np.deg2rad(lon2)
        u, v = np.cos(phi) ** 2 * np.sin(2 * lam), np.sin(phi) * np.cos(lam)
        out = []
        for op in (daskgrad.vorticity, daskgrad.divergence):
            curv = op(
                _curvilinear(u, lat2, lon2),
                _curvilinear(v, lat2, lon2),
                geographic=True,
                boundary={"x": "periodic"},
            )
            reg = op(_regular(u, lat1, lon1), _regular(v, lat1, lon1), geographic=True)
            inner = np.abs(lat1) <= 50  # the same latitudes at both steps
            out.append(np.abs(curv.values - reg.values)[inner].max())
        return np.array(out)

    coarse, fine = difference(4.0), difference(2.0)
    assert (fine > 0).all() and (3.0 <= coarse / fine).all() and (coarse / fine <= 5.0).all()
