"""Geographic grids: CF detection, whole-circle longitude, metric factors, poles, convergence."""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers import raise_if_dask_computes, requires_dask, requires_xarray

pytestmark = requires_xarray

xr = pytest.importorskip("xarray")
import daskgrad  # noqa: E402,F401  (registers .grad)
from daskgrad._geo import EARTH_RADIUS, find_latlon, is_whole_circle  # noqa: E402
from daskgrad.datasets import sphere_grid  # noqa: E402

R = EARTH_RADIUS


def harmonic(nlat, nlon, **grid_kw):
    """f = cos^2(phi) cos(2 lam) + sin(phi) and its exact spherical gradient (per metre)."""
    g = sphere_grid(nlat, nlon, **grid_kw)
    phi, lam = np.deg2rad(g.latitude), np.deg2rad(g.longitude)
    f = (np.cos(phi) ** 2 * np.cos(2 * lam) + np.sin(phi)).rename("f")
    f.attrs = {"units": "K"}
    dfdx = -2 * np.cos(phi) * np.sin(2 * lam) / R
    dfdy = (-np.sin(2 * phi) * np.cos(2 * lam) + np.cos(phi)) / R
    return f.transpose("latitude", "longitude"), dfdx, dfdy


def max_error(result, exact, max_lat=60.0):
    err = abs(result - exact).where(abs(result.latitude) <= max_lat)
    return float(err.max())


def test_spherical_gradient_matches_analytic_and_converges():
    errors = []
    for nlat in (19, 37, 73):  # 10, 5 and 2.5 degrees
        f, dfdx, dfdy = harmonic(nlat, 2 * (nlat - 1))
        g = f.grad.gradient(["latitude", "longitude"], geographic=True)
        errors.append((max_error(g.df_dlongitude, dfdx), max_error(g.df_dlatitude, dfdy)))
    errors = np.array(errors)
    ratios = errors[:-1] / errors[1:]
    assert np.all((ratios > 3.6) & (ratios < 4.4)), ratios  # second order
    scale = 2 / R
    assert np.all(errors[-1] < 2e-3 * scale), errors  # 2.5 degree grid: < 0.2 % error


def test_meridional_derivative_edge_order_2_converges_up_to_the_poles():
    errors = []
    for nlat in (19, 37, 73):
        f, _, dfdy = harmonic(nlat, 2 * (nlat - 1))
        dy = f.grad.differentiate("latitude", edge_order=2, geographic=True)
        errors.append(max_error(dy, dfdy, max_lat=90.0))
    ratios = np.array(errors[:-1]) / np.array(errors[1:])
    assert np.all((ratios > 3.5) & (ratios < 4.5)), ratios


def test_poles_are_nan_for_zonal_derivative_and_nothing_is_inf():
    f, dfdx, _ = harmonic(19, 36)
    g = f.grad.gradient(geographic=True)  # dims=None: latitude and longitude
    assert list(g.data_vars) == ["df_dlatitude", "df_dlongitude"]
    dx = g.df_dlongitude
    assert np.isnan(dx.isel(latitude=[0, -1])).all()
    assert np.isfinite(dx.isel(latitude=slice(1, -1))).all()
    assert np.isfinite(g.df_dlatitude).all()


def test_units_and_long_names():
    f, _, _ = harmonic(7, 12)
    g = f.grad.gradient(geographic=True)
    assert g.df_dlongitude.attrs == {"units": "K m-1", "long_name": "eastward derivative of f"}
    assert g.df_dlatitude.attrs == {"units": "K m-1", "long_name": "northward derivative of f"}
    assert f.grad.differentiate("latitude").attrs["units"] == "K degree-1"  # not geographic


def test_decreasing_and_increasing_latitude_agree():
    f, _, _ = harmonic(19, 36)
    up = f.sortby("latitude")
    g_down = f.grad.gradient(geographic=True)
    g_up = up.grad.gradient(geographic=True).sortby("latitude", ascending=False)
    xr.testing.assert_allclose(g_down, g_up, rtol=1e-12, atol=0)


@pytest.mark.parametrize("shift", [1, 36, 71])
def test_periodic_seam_equals_run_on_rolled_grid(shift):
    f, dfdx, _ = harmonic(13, 72)  # 0 .. 355
    g = f.grad.differentiate("longitude", geographic=True)
    rolled = f.roll(longitude=shift, roll_coords=True)
    lon = rolled.longitude.values
    rolled = rolled.assign_coords(longitude=np.where(lon >= lon[0], lon, lon + 360.0) - 360.0)
    assert is_whole_circle(rolled.longitude.values)
    g_rolled = rolled.grad.differentiate("longitude", geographic=True)
    np.testing.assert_allclose(
        g_rolled.roll(longitude=-shift).values, g.values, rtol=1e-12, atol=1e-30
    )
    seam = g.isel(longitude=[0, -1], latitude=slice(1, -1))
    np.testing.assert_allclose(seam, dfdx.isel(longitude=[0, -1], latitude=slice(1, -1)), rtol=0.02)


def test_partial_longitude_is_one_sided():
    f, _, _ = harmonic(13, 72)
    part = f.isel(longitude=slice(0, 20))
    assert not is_whole_circle(part.longitude.values)
    g = part.grad.differentiate("longitude", geographic=True)
    plain = part.differentiate("longitude") * (180 / np.pi) / (R * np.cos(np.deg2rad(f.latitude)))
    np.testing.assert_allclose(
        g.isel(latitude=slice(1, -1)), plain.isel(latitude=slice(1, -1)), rtol=1e-12
    )
    periodic = part.grad.differentiate("longitude", geographic=True, boundary="periodic")
    first = periodic.isel(latitude=6, longitude=0), g.isel(latitude=6, longitude=0)
    assert not np.allclose(*first, rtol=1e-3, atol=0)


def test_radius_scales_and_is_checked():
    f, _, _ = harmonic(7, 12)
    g1 = f.grad.differentiate("latitude", geographic=True, radius=1.0)
    gr = f.grad.differentiate("latitude", geographic=True)
    np.testing.assert_allclose(g1.values, gr.values * R, rtol=1e-12)
    with pytest.raises(ValueError, match="radius"):
        f.grad.differentiate("latitude", geographic=True, radius=-1.0)


def test_float32_stays_float32():
    f, _, _ = harmonic(7, 12)
    g = f.astype(np.float32).grad.gradient(geographic=True)
    assert g.df_dlatitude.dtype == g.df_dlongitude.dtype == np.float32


@requires_dask
def test_geographic_dask_is_lazy_and_equal():
    f, _, _ = harmonic(19, 36)
    f3 = (f + xr.DataArray(np.arange(3.0), dims="time")).transpose("time", ...).rename("f")
    lazy = f3.chunk({"time": 1, "latitude": 4, "longitude": 5})
    with raise_if_dask_computes():
        g = lazy.grad.gradient(geographic=True, edge_order=2)
    assert g.df_dlongitude.chunks == lazy.chunks
    xr.testing.assert_identical(g.compute(), f3.grad.gradient(geographic=True, edge_order=2))


def _coord_grid(lat_name, lat_attrs, lon_name, lon_attrs):
    return xr.Dataset(
        coords={
            lat_name: (lat_name, np.linspace(-60, 60, 5), lat_attrs),
            lon_name: (lon_name, np.arange(0, 360, 90.0), lon_attrs),
        }
    )


@pytest.mark.parametrize(
    ("lat", "lat_attrs", "lon", "lon_attrs"),
    [
        ("phi", {"standard_name": "latitude"}, "lam", {"standard_name": "longitude"}),
        ("a", {"units": "degrees_north"}, "b", {"units": "degree_E"}),
        ("a", {"axis": "Y", "units": "degrees"}, "b", {"axis": "X", "units": "degrees"}),
        ("lat", {}, "lon", {}),
        ("nav_lat", {}, "nav_lon", {"units": "degrees"}),
        ("Latitude", {}, "Longitude", {}),
    ],
)
def test_find_latlon(lat, lat_attrs, lon, lon_attrs):
    assert find_latlon(_coord_grid(lat, lat_attrs, lon, lon_attrs)) == (lat, lon)


@pytest.mark.parametrize(
    ("lat", "lat_attrs", "lon", "lon_attrs", "match"),
    [
        ("y", {}, "x", {}, "no latitude or longitude"),  # x/y are never guessed
        ("y", {"axis": "Y", "units": "m"}, "x", {"axis": "X", "units": "m"}, "no latitude"),
        ("rlat", {"standard_name": "grid_latitude", "units": "degrees"}, "lon", {}, "latitude"),
        ("lat", {"units": "m"}, "lon", {}, "no latitude coordinate"),
    ],
)
def test_find_latlon_errors(lat, lat_attrs, lon, lon_attrs, match):
    with pytest.raises(ValueError, match=match):
        find_latlon(_coord_grid(lat, lat_attrs, lon, lon_attrs))


def test_find_latlon_ambiguous_and_2d():
    ds = _coord_grid("lat", {"standard_name": "latitude"}, "lon", {})
    ds = ds.assign_coords(lat2=("lat", ds.lat.values, {"standard_name": "latitude"}))
    assert find_latlon(ds) == ("lat", "lon")  # the dimension coordinate wins
    ds = ds.assign_coords(other=("lon", [0.0, 1, 2, 3], {"standard_name": "latitude"}))
    assert find_latlon(ds) == ("lat", "lon")
    two = xr.Dataset(
        coords={
            "nav_lat": (("y", "x"), np.zeros((2, 3)), {"standard_name": "latitude"}),
            "nav_lon": (("y", "x"), np.zeros((2, 3)), {"standard_name": "longitude"}),
        }
    )
    with pytest.raises(ValueError, match="curvilinear"):
        find_latlon(two)
    bad = _coord_grid("lat", {}, "lon", {}).assign_coords(lat=[-100.0, 0, 1, 2, 3])
    with pytest.raises(ValueError, match=r"\[-90, 90\]"):
        find_latlon(bad)


def test_is_whole_circle():
    assert is_whole_circle(np.arange(0, 360, 2.5))
    assert is_whole_circle(np.arange(-180, 180, 2.5))
    assert is_whole_circle(np.arange(357.5, -1, -2.5))  # decreasing
    assert is_whole_circle(np.linspace(0, 360, 145)[:-1])
    assert not is_whole_circle(np.arange(0, 360.1, 2.5))  # repeats the first meridian
    assert not is_whole_circle(np.arange(0, 180, 2.5))
    assert not is_whole_circle(np.array([0.0, 1.0, 3.0]))
    assert not is_whole_circle(np.array([0.0]))
    # stored rolled: still the whole circle (steps modulo 360)
    assert is_whole_circle(np.r_[np.arange(180.0, 360.0, 30.0), np.arange(0.0, 180.0, 30.0)])
    assert is_whole_circle(np.roll(np.arange(0, 360, 2.5), 50))
    assert is_whole_circle(np.roll(np.arange(357.5, -1, -2.5), 7))
    assert not is_whole_circle(np.roll(np.arange(0, 360.1, 2.5), 50))
    assert not is_whole_circle(np.array([180.0, 270.0, 0.0, 30.0]))  # uneven


def test_geographic_with_time_and_non_geographic_dims():
    f, _, _ = harmonic(7, 12)
    time = np.datetime64("2000-01-01", "ns") + np.arange(3) * np.timedelta64(1, "h")
    f3 = (f * xr.DataArray([1.0, 2.0, 4.0], dims="time", coords={"time": time})).rename("f")
    f3.attrs = {"units": "K"}
    g = f3.grad.gradient(["time", "latitude", "longitude"], geographic=True, datetime_unit="s")
    assert [g[k].attrs["units"] for k in g.data_vars] == ["K s-1", "K m-1", "K m-1"]
    xr.testing.assert_identical(
        g.df_dtime.drop_attrs(deep=False).rename(None),
        f3.drop_attrs(deep=False).differentiate("time", datetime_unit="s").rename(None),
    )
    zonal_only = f3.isel(latitude=3, drop=True).rename("z")  # no latitude at all
    with pytest.raises(ValueError, match="no latitude"):
        zonal_only.grad.differentiate("longitude", geographic=True)
    band = f3.isel(latitude=3)  # a scalar latitude coordinate is enough
    expected = f3.grad.differentiate("longitude", geographic=True).isel(latitude=3)
    xr.testing.assert_allclose(band.grad.differentiate("longitude", geographic=True), expected)
    ds = xr.Dataset({"f": f3, "lon_only": f3.isel(latitude=0, drop=True)})
    ds = ds.assign_coords(latitude=f3.latitude)
    with pytest.raises(ValueError, match="lacks the latitude dimension"):
        ds.grad.differentiate("longitude", geographic=True)


@requires_dask
def test_dask_backed_non_index_latlon():
    import dask.array as dsa

    f, dfdx, dfdy = harmonic(19, 36)
    plain = f.rename(latitude="y", longitude="x").drop_vars(["y", "x"])
    lazy = plain.assign_coords(
        lat=("y", dsa.from_array(f.latitude.values, chunks=5), {"units": "degrees_north"}),
        lon=("x", dsa.from_array(f.longitude.values, chunks=7), {"units": "degrees_east"}),
    ).chunk({"y": 4, "x": 9})
    with raise_if_dask_computes():
        g = lazy.grad.gradient(["lat", "lon"], geographic=True, boundary={"lon": "periodic"})
    assert list(g.data_vars) == ["df_dlat", "df_dlon"]
    eager = f.grad.gradient(geographic=True)
    g = g.compute()  # Dask's array-expr mode: .values of a lazy array is not its values
    np.testing.assert_allclose(g.df_dlon.values, eager.df_dlongitude.values, rtol=1e-12)
    np.testing.assert_allclose(g.df_dlat.values, eager.df_dlatitude.values, rtol=1e-12)
