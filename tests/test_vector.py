"""divergence and vorticity: Cartesian identities, analytic spherical fields, laziness, attrs."""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers import raise_if_dask_computes, requires_dask, requires_xarray

pytestmark = requires_xarray

xr = pytest.importorskip("xarray")
import daskgrad  # noqa: E402
from daskgrad._geo import EARTH_RADIUS as R  # noqa: E402
from daskgrad.datasets import sphere_grid  # noqa: E402

U0 = 20.0  # m s-1


def _wind(u, v):
    u = u.transpose("latitude", "longitude").rename("u")
    v = v.transpose("latitude", "longitude").rename("v")
    u.attrs = {"units": "m s-1", "long_name": "eastward wind"}
    v.attrs = {"units": "m s-1", "long_name": "northward wind"}
    return u, v


def solid_body(nlat, nlon):
    """u = U cos(phi), v = 0: vorticity 2 U sin(phi) / R, divergence 0."""
    g = sphere_grid(nlat, nlon)
    phi = np.deg2rad(g.latitude)
    u = U0 * np.cos(phi) + 0 * g.longitude
    return (*_wind(u, 0 * u), 2 * U0 * np.sin(phi) / R + 0 * g.longitude)


def harmonic_flow(nlat, nlon, rotational=True):
    """Wind from psi (or chi) = U R cos^2(phi) cos(2 lam), a degree-2 spherical harmonic.

    Rotational: u = -dpsi/dy, v = dpsi/dx, vorticity = lap(psi) = -6 psi / R^2, div 0.
    Divergent: u = dchi/dx, v = dchi/dy, divergence = -6 chi / R^2, vorticity 0.
    """
    g = sphere_grid(nlat, nlon)
    phi, lam = np.deg2rad(g.latitude), np.deg2rad(g.longitude)
    s = U0 * R * np.cos(phi) ** 2 * np.cos(2 * lam)
    ddx = -2 * U0 * np.cos(phi) * np.sin(2 * lam)  # d s / dx
    ddy = -U0 * np.sin(2 * phi) * np.cos(2 * lam)  # d s / dy
    lap = -6 * s / R**2
    if rotational:
        return (*_wind(-ddy, ddx), lap)
    return (*_wind(ddx, ddy), lap)


def max_error(result, exact, max_lat=60.0):
    return float(abs(result - exact).where(abs(result.latitude) <= max_lat).max())


def _ratios(errors):
    errors = np.array(errors)
    return errors[:-1] / errors[1:]


GRIDS = (19, 37, 73)  # 10, 5, 2.5 degrees


def test_solid_body_rotation():
    errors = []
    for nlat in GRIDS:
        u, v, zeta = solid_body(nlat, 2 * (nlat - 1))
        div = daskgrad.divergence(u, v, geographic=True)
        assert float(abs(div.isel(latitude=slice(1, -1))).max()) == 0.0  # exact
        errors.append(max_error(daskgrad.vorticity(u, v, geographic=True), zeta))
    ratios = _ratios(errors)
    assert np.all((ratios > 3.6) & (ratios < 4.4)), ratios
    assert errors[-1] < 2e-3 * 2 * U0 / R  # 2.5 degrees: < 0.2 % of the peak


@pytest.mark.parametrize("rotational", [True, False])
def test_spherical_harmonic_flow_converges(rotational):
    div_err, vort_err = [], []
    for nlat in GRIDS:
        u, v, lap = harmonic_flow(nlat, 2 * (nlat - 1), rotational)
        div = daskgrad.divergence(u, v, geographic=True)
        vort = daskgrad.vorticity(u, v, geographic=True)
        exact_div, exact_vort = (0 * lap, lap) if rotational else (lap, 0 * lap)
        div_err.append(max_error(div, exact_div))
        vort_err.append(max_error(vort, exact_vort))
    main, other = (vort_err, div_err) if rotational else (div_err, vort_err)
    ratios = _ratios(main)
    assert np.all((ratios > 3.6) & (ratios < 4.4)), ratios
    assert main[-1] < 5e-3 * 6 * U0 / R  # 2.5 degrees: < 0.5 % of the peak
    assert max(other) < 1e-12 * U0 / R  # the other operator vanishes (to rounding)


def test_poles_nan_and_no_inf():
    u, v, _ = harmonic_flow(19, 36)
    for op in (daskgrad.divergence, daskgrad.vorticity):
        out = op(u, v, geographic=True)
        assert np.isnan(out.isel(latitude=[0, -1])).all()
        assert np.isfinite(out.isel(latitude=slice(1, -1))).all()


def test_cartesian_linear_fields_exact(rng):
    x = xr.DataArray(np.cumsum(rng.uniform(0.5, 1.5, 9)), dims="x", attrs={"units": "m"})
    y = xr.DataArray(np.cumsum(rng.uniform(0.5, 1.5, 7)), dims="y", attrs={"units": "m"})
    x, y = x.assign_coords(x=x), y.assign_coords(y=y)
    u = (2.0 * x - 3.0 * y + 1.0).transpose("y", "x").rename("u")
    v = (5.0 * x + 0.5 * y).transpose("y", "x").rename("v")
    u.attrs = v.attrs = {"units": "m s-1"}
    div = daskgrad.divergence(u, v)  # dims=None: (..., y, x)
    vort = daskgrad.vorticity(u, v, dims=("x", "y"), edge_order=2)
    np.testing.assert_allclose(div.values, 2.5, rtol=1e-12)
    np.testing.assert_allclose(vort.values, 8.0, rtol=1e-12)
    assert (div.name, vort.name) == ("divergence", "vorticity")
    assert div.attrs == {"units": "s-1", "long_name": "divergence of (u, v)"}
    assert vort.attrs == {"units": "s-1", "long_name": "relative vorticity of (u, v)"}
    expected = np.gradient(v.values, x.values, axis=1) - np.gradient(u.values, y.values, axis=0)
    np.testing.assert_array_equal(daskgrad.vorticity(u, v).values, expected)


def test_attrs_policy():
    u, v, _ = harmonic_flow(7, 12)
    assert daskgrad.vorticity(u, v, geographic=True).attrs["units"] == "s-1"
    assert daskgrad.vorticity(u, v, geographic=True, keep_attrs=False).attrs == {}
    bare = daskgrad.divergence(u.drop_attrs(), v.drop_attrs(), geographic=True)
    assert bare.attrs == {}
    v2 = (v * 3.6).assign_attrs(units="km h-1")  # the same wind in km/h: converted back
    div = daskgrad.divergence(u, v, geographic=True)
    div2 = daskgrad.divergence(u, v2, geographic=True)
    assert div2.attrs == div.attrs == {"units": "s-1", "long_name": "divergence of (u, v)"}
    xr.testing.assert_allclose(div2, div, rtol=1e-12, atol=1e-20)


@requires_dask
@pytest.mark.parametrize("chunks", [{"latitude": 1, "longitude": 7}, {"latitude": (5, 1, 13)}])
def test_lazy_and_equal_to_numpy(chunks):
    u, v, _ = harmonic_flow(19, 36)
    lu, lv = u.chunk(chunks), v.chunk(chunks)
    with raise_if_dask_computes():
        div = daskgrad.divergence(lu, lv, geographic=True, edge_order=2)
        vort = daskgrad.vorticity(lu, lv, geographic=True)
    assert div.chunks == vort.chunks == lu.chunks
    xr.testing.assert_allclose(
        div.compute(), daskgrad.divergence(u, v, geographic=True, edge_order=2), rtol=1e-13
    )
    xr.testing.assert_allclose(vort.compute(), daskgrad.vorticity(u, v, geographic=True))


def test_float32_stays_float32():
    u, v, _ = harmonic_flow(7, 12)
    out = daskgrad.vorticity(u.astype("f4"), v.astype("f4"), geographic=True)
    assert out.dtype == np.float32


def test_errors():
    u, v, _ = harmonic_flow(7, 12)
    with pytest.raises(TypeError, match="u: expected an xarray.DataArray"):
        daskgrad.divergence(u.values, v)
    with pytest.raises(ValueError, match="share their coordinate labels"):
        daskgrad.divergence(u, v.assign_coords(longitude=v.longitude + 1))
    with pytest.raises(ValueError, match="pair"):
        daskgrad.divergence(u, v, dims="longitude")
    with pytest.raises(ValueError, match="longitude, latitude"):
        daskgrad.vorticity(u, v, dims=("latitude", "longitude"), geographic=True)
    with pytest.raises(ValueError, match="at least two"):
        daskgrad.vorticity(u.isel(latitude=0), v.isel(latitude=0))


def test_vector_module_imports_on_its_own():
    import subprocess
    import sys

    code = "import daskgrad.vector as m; print(m.divergence.__name__, m.vorticity.__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["divergence", "vorticity"]
