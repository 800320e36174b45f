"""pint-backed input (issue 12, part 1): Quantities in, Quantities out.

Every check compares with the same call on the unit-stripped object (rtol 1e-12) and
checks the units as pint units of the input's own registry (never pint's application
registry). The suite's ``filterwarnings = error`` makes any ``UnitStrippedWarning`` a
failure; MetPy is imported only in a subprocess (:func:`test_metpy_oracle`), because
importing it replaces pint's application registry and silences that warning.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import daskgrad
from tests.helpers import raise_if_dask_computes, requires_dask, requires_xarray

pint = pytest.importorskip("pint")

ROOT = Path(__file__).resolve().parents[1]
RTOL = 1e-12


@pytest.fixture
def ureg():
    """A fresh registry, not the application registry (pint-xarray needs ndarray-like)."""
    return pint.UnitRegistry(force_ndarray_like=True)


def _close(actual, expected) -> None:
    np.testing.assert_allclose(np.asarray(actual), np.asarray(expected), rtol=RTOL, atol=0)


def _run(code: str) -> subprocess.CompletedProcess:
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    )
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_stripped_unit_still_fails_these_tests() -> None:
    """MetPy, once imported, replaces pint's application registry and filters out
    UnitStrippedWarning. It can be imported here without any test asking for it:
    xarray lists its backends on every ``open_dataset`` and MetPy registers one
    (``gini``), so an earlier test that opens a file imports it. The suite's "error"
    filter is applied again at each test, in front of MetPy's, so a unit lost on the way
    (what the filter would hide) still fails; and daskgrad uses the input's own registry,
    never the application one."""
    ureg = pint.UnitRegistry()
    with pytest.raises(pint.UnitStrippedWarning):
        np.asarray(ureg.Quantity(np.ones(2), "m"))


def test_import_daskgrad_imports_no_pint() -> None:
    proc = _run(
        """
        import sys
        import numpy as np
        import daskgrad
        daskgrad.gradient(np.arange(5.0) ** 2, 0.5)
        loaded = sorted(m for m in sys.modules
                        if m.split(".")[0] in ("pint", "pint_xarray", "metpy"))
        assert not loaded, loaded
        """
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


# -- the array API ---------------------------------------------------------------------


def test_numpy_quantity_units_are_data_over_spacing_never_reduced(ureg) -> None:
    f = np.arange(12.0).reshape(3, 4) ** 2
    x = np.array([0.0, 1.0, 3.0])
    q = ureg.Quantity(f, "m")
    dy, dx = daskgrad.gradient(q, ureg.Quantity(x, "km"), ureg.Quantity(0.5, "s"))
    assert dy.units == ureg.m / ureg.km and str(dy.units) == "meter / kilometer"
    assert dx.units == ureg.m / ureg.s
    assert dy._REGISTRY is ureg and dx._REGISTRY is ureg
    ey, ex = daskgrad.gradient(f, x, 0.5)
    _close(dy.magnitude, ey)
    _close(dx.magnitude, ex)


@pytest.mark.parametrize(
    ("args", "kwargs", "per"),
    [
        ((), {}, "dimensionless"),
        ((2.0,), {}, "dimensionless"),
        ((("q", 2.0, "s"),), {"axis": 1}, "second"),
        ((), {"spacing": [("q", 2.0, "s"), ("q", 3.0, "s")]}, "second"),
        ((), {"spacing": ("q", 2.0, "h"), "dim": 0}, "hour"),
    ],
)
def test_numpy_spacing_forms(ureg, args, kwargs, per) -> None:
    def quantities(value):
        if isinstance(value, tuple) and value[:1] == ("q",):
            return ureg.Quantity(value[1], value[2])
        if isinstance(value, list):
            return [quantities(v) for v in value]
        return value

    def magnitudes(value):
        if isinstance(value, tuple) and value[:1] == ("q",):
            return value[1]
        if isinstance(value, list):
            return [magnitudes(v) for v in value]
        return value

    f = np.arange(12.0).reshape(3, 4) ** 3
    out = daskgrad.gradient(
        ureg.Quantity(f, "K"),
        *map(quantities, args),
        **{k: quantities(v) for k, v in kwargs.items()},
    )
    expected = daskgrad.gradient(
        f, *map(magnitudes, args), **{k: magnitudes(v) for k, v in kwargs.items()}
    )
    outs, expecteds = (out, expected) if isinstance(out, tuple) else ((out,), (expected,))
    assert isinstance(out, tuple) == isinstance(expected, tuple)
    for o, e in zip(outs, expecteds, strict=True):
        assert o.units == ureg.K / ureg.parse_units(per)
        _close(o.magnitude, e)


def test_plain_data_with_quantity_spacing(ureg) -> None:
    out = daskgrad.gradient(np.arange(4.0) ** 2, ureg.Quantity(3.0, "s"))
    assert out.units == 1 / ureg.s
    _close(out.magnitude, np.gradient(np.arange(4.0) ** 2, 3.0))


def test_period_as_a_quantity_is_converted_to_the_coordinate_units(ureg) -> None:
    f = np.sin(np.deg2rad(np.arange(0, 360, 30.0)))
    x = np.arange(0, 360, 30.0)
    out = daskgrad.gradient(
        ureg.Quantity(f, "m"),
        ureg.Quantity(x, "degree"),
        boundary="periodic",
        period=ureg.Quantity(2 * np.pi, "radian"),
    )
    assert out.units == ureg.m / ureg.degree
    _close(out.magnitude, daskgrad.gradient(f, x, boundary="periodic", period=360.0))


def test_quantities_of_two_registries_are_refused(ureg) -> None:
    other = pint.UnitRegistry()
    with pytest.raises(ValueError, match="different unit registries"):
        daskgrad.gradient(ureg.Quantity(np.arange(3.0), "m"), other.Quantity(1.0, "s"))


def test_the_application_registry_is_never_changed(ureg) -> None:
    before = pint.get_application_registry().get()
    out = daskgrad.gradient(ureg.Quantity(np.arange(3.0), "m"), ureg.Quantity(1.0, "s"))
    assert pint.get_application_registry().get() is before
    assert out._REGISTRY is ureg


@requires_dask
@pytest.mark.dask
def test_dask_inside_pint_stays_lazy(ureg) -> None:
    import dask.array as da

    f = np.arange(30.0).reshape(5, 6) ** 2
    x = np.cumsum(np.arange(1.0, 7.0))
    q = ureg.Quantity(da.from_array(f, chunks=(2, 3)), "m")
    with raise_if_dask_computes():
        dy, dx = daskgrad.gradient(q, 2.0, ureg.Quantity(x, "km"), edge_order=2)
    assert isinstance(dy.magnitude, da.Array) and isinstance(dx.magnitude, da.Array)
    assert dx.magnitude.chunks == q.magnitude.chunks
    assert dy.units == ureg.m and dx.units == ureg.m / ureg.km
    ey, ex = daskgrad.gradient(f, 2.0, x, edge_order=2)
    _close(dy.magnitude.compute(), ey)
    _close(dx.magnitude.compute(), ex)


@requires_dask
@pytest.mark.dask
def test_dask_of_pint_chunks_is_refused(ureg) -> None:
    import dask.array as da

    q = da.from_array(ureg.Quantity(np.arange(6.0), "m"), chunks=3, asarray=False)
    with pytest.raises(TypeError, match="pint chunks"):
        daskgrad.gradient(q)


# -- xarray: pint-xarray (data and coordinates quantified) -------------------------------


def _grid(nlat: int = 17, nlon: int = 36, seed: int = 0):
    import xarray as xr

    rng = np.random.default_rng(seed)
    lat = np.linspace(-80.0, 80.0, nlat)
    lon = np.arange(0.0, 360.0, 360.0 / nlon)
    coords = {
        "latitude": ("latitude", lat, {"units": "degree"}),
        "longitude": ("longitude", lon, {"units": "degree"}),
    }
    dims = ("latitude", "longitude")

    def field(name, units):
        return xr.DataArray(
            rng.normal(size=(nlat, nlon)),
            dims=dims,
            coords=coords,
            attrs={"units": units},
            name=name,
        )

    return field("u", "m/s"), field("v", "m/s")


def _quantify(da, ureg):
    pytest.importorskip("pint_xarray")
    return da.pint.quantify(unit_registry=ureg)


@requires_xarray
def test_pint_xarray_differentiate_m_over_km(ureg) -> None:
    import xarray as xr

    x = xr.DataArray(
        np.arange(6.0) ** 2,
        dims="x",
        coords={"x": ("x", np.array([0.0, 1.0, 3.0, 4.0, 7.0, 8.0]), {"units": "km"})},
        attrs={"units": "m"},
        name="h",
    )
    q = _quantify(x, ureg)
    out = q.grad.differentiate("x", edge_order=2)
    assert out.data.units == ureg.m / ureg.km and out.data._REGISTRY is ureg
    assert out.name == "h" and out.attrs == {}
    assert out.x.data.units == ureg.km  # the quantified coordinate comes back
    assert type(out.xindexes["x"]).__name__ == "PintIndex"
    _close(out.data.magnitude, q.pint.dequantify().grad.differentiate("x", edge_order=2))


@requires_xarray
@pytest.mark.parametrize("coord", ["latitude", "longitude"])
def test_pint_xarray_geographic_per_metre(ureg, coord) -> None:
    u, _ = _grid()
    q = _quantify(u, ureg)
    out = q.grad.differentiate(coord, geographic=True)
    assert out.data.units == ureg.Unit("m/s") / ureg.m
    expected = q.pint.dequantify().grad.differentiate(coord, geographic=True)
    _close(out.data.magnitude, expected)  # the quantified latitude no longer enters the metric
    g = q.grad.gradient(geographic=True, edge_order=2)
    ref = q.pint.dequantify().grad.gradient(geographic=True, edge_order=2)
    for name in ("du_dlatitude", "du_dlongitude"):
        assert g[name].data.units == ureg.Unit("m/s") / ureg.m
        _close(g[name].data.magnitude, ref[name])
    assert g.latitude.data.units == ureg.degree


@requires_xarray
@pytest.mark.parametrize("op", ["vorticity", "divergence"])
def test_pint_xarray_vector_operators(ureg, op) -> None:
    u, v = _grid()
    qu, qv = _quantify(u, ureg), _quantify(v, ureg)
    out = getattr(daskgrad, op)(qu, qv, geographic=True, edge_order=2)
    assert out.data.units == ureg.Unit("m/s") / ureg.m  # 1 / second
    assert out.data.dimensionality == ureg.Unit("1/s").dimensionality
    expected = getattr(daskgrad, op)(
        qu.pint.dequantify(), qv.pint.dequantify(), geographic=True, edge_order=2
    )
    _close(out.data.magnitude, expected)
    assert float(np.abs(out.data.magnitude).max()) < 1e-3  # not 1.6e6 "dimensionless"
    assert out.latitude.data.units == ureg.degree and "units" not in out.attrs


@requires_xarray
def test_compatible_u_v_units_v_converted_to_u(ureg) -> None:
    u, v = _grid()
    qu, qv = _quantify(u, ureg), _quantify(v, ureg)
    knots = qv.pint.to("knot")
    out = daskgrad.vorticity(qu, knots, geographic=True)
    assert out.data.units == ureg.Unit("m/s") / ureg.m
    converted = daskgrad.vorticity(qu, knots.pint.to("m/s"), geographic=True)
    _close(out.data.magnitude, converted.data.magnitude)
    _close(out.data.magnitude, daskgrad.vorticity(qu, qv, geographic=True).data.magnitude)
    # u in knots: the result is in knots per metre, equal as a quantity
    other = daskgrad.divergence(qu.pint.to("knot"), qv, geographic=True)
    assert other.data.units == ureg.knot / ureg.m
    reference = daskgrad.divergence(qu, qv, geographic=True).data
    _close(other.data.to(reference.units).magnitude, reference.magnitude)


@requires_xarray
def test_incompatible_or_mixed_u_v_are_refused(ureg) -> None:
    u, v = _grid()
    qu = _quantify(u, ureg)
    kelvin = _quantify(v.assign_attrs(units="K"), ureg)
    with pytest.raises(ValueError, match="incompatible units"):
        daskgrad.vorticity(qu, kelvin, geographic=True)
    with pytest.raises(ValueError, match="u is pint-backed and v is not"):
        daskgrad.divergence(qu, v, geographic=True)
    with pytest.raises(ValueError, match="v is pint-backed and u is not"):
        daskgrad.divergence(u, _quantify(v, ureg), geographic=True)


@requires_xarray
def test_cartesian_operator_converts_y_to_x_units(ureg) -> None:
    import xarray as xr

    rng = np.random.default_rng(1)
    coords = {
        "y": ("y", np.arange(5.0) * 1000.0, {"units": "m"}),
        "x": ("x", np.arange(6.0), {"units": "km"}),
    }
    u = xr.DataArray(
        rng.normal(size=(5, 6)), dims=("y", "x"), coords=coords, attrs={"units": "m/s"}
    )
    v = u.copy(data=rng.normal(size=(5, 6)))
    out = daskgrad.divergence(_quantify(u, ureg), _quantify(v, ureg), dims=("x", "y"))
    assert out.data.units == ureg.Unit("m/s") / ureg.km
    km = {"y": ("y", np.arange(5.0), {"units": "km"}), "x": coords["x"]}
    expected = daskgrad.divergence(u.assign_coords(km), v.assign_coords(km), dims=("x", "y"))
    _close(out.data.magnitude, expected)
    seconds = _quantify(u.assign_coords(y=u.y.assign_attrs(units="s")), ureg)
    with pytest.raises(ValueError, match="incompatible units"):
        daskgrad.divergence(seconds, seconds, dims=("x", "y"))


@requires_xarray
@requires_dask
@pytest.mark.dask
def test_pint_xarray_dask_stays_lazy(ureg) -> None:
    import dask.array as da

    u, v = _grid()
    qu, qv = _quantify(u, ureg).pint.chunk({"latitude": 5, "longitude": 12}), _quantify(v, ureg)
    qv = qv.pint.to("knot").pint.chunk({"latitude": 5, "longitude": 12})
    with raise_if_dask_computes():
        d = qu.grad.differentiate("longitude", geographic=True)
        g = qu.grad.gradient(geographic=True)
        z = daskgrad.vorticity(qu, qv, geographic=True)
    for out in (d, g.du_dlatitude, z):
        assert isinstance(out.data.magnitude, da.Array)
    assert d.data.magnitude.chunks == qu.data.magnitude.chunks
    _close(d.data.magnitude.compute(), u.grad.differentiate("longitude", geographic=True))
    _close(z.data.magnitude.compute(), daskgrad.vorticity(u, v, geographic=True))
    assert z.data.units == ureg.Unit("m/s") / ureg.m


@requires_xarray
@requires_dask
@pytest.mark.dask
def test_dask_incompatible_u_v_raise_at_call_time(ureg) -> None:
    u, v = _grid()
    qu = _quantify(u, ureg).pint.chunk(5)
    kelvin = _quantify(v.assign_attrs(units="K"), ureg).pint.chunk(5)
    with raise_if_dask_computes(), pytest.raises(ValueError, match="incompatible units"):
        daskgrad.vorticity(qu, kelvin, geographic=True)
    with raise_if_dask_computes(), pytest.raises(ValueError, match="pint-backed"):
        daskgrad.vorticity(qu, v.chunk(5), geographic=True)


# -- xarray: data quantified, coordinates plain (MetPy's quantify()) ----------------------


def _data_quantified(da, ureg):
    """What ``da.metpy.quantify()`` gives, without importing MetPy: the data a Quantity
    of ``units``, the attribute gone, the coordinates plain with their attrs."""
    units = da.attrs["units"]
    attrs = {k: v for k, v in da.attrs.items() if k != "units"}
    return da.copy(data=ureg.Quantity(da.values, units)).assign_attrs(attrs)


@requires_xarray
def test_data_quantified_coordinate_units_from_attrs(ureg) -> None:
    u, _ = _grid()
    u = u.assign_attrs(long_name="eastward wind")
    u["latitude"].attrs["units"] = "degrees_north"
    q = _data_quantified(u, ureg)
    out = q.grad.differentiate("latitude")  # not geographic: per degree
    assert out.data.units == ureg.Unit("m/s") / ureg.degree
    assert out.attrs == {"long_name": "derivative of eastward wind with respect to latitude"}
    _close(out.data.magnitude, u.grad.differentiate("latitude"))
    geo = q.grad.differentiate("latitude", geographic=True)
    assert geo.data.units == ureg.Unit("m/s") / ureg.m
    _close(geo.data.magnitude, u.grad.differentiate("latitude", geographic=True))
    assert geo.latitude.attrs["units"] == "degrees_north"  # coordinates as they were


@requires_xarray
def test_cf_exponents_and_missing_units(ureg) -> None:
    import xarray as xr

    f = xr.DataArray(
        np.arange(5.0) ** 2, dims="p", coords={"p": ("p", np.arange(5.0), {"units": "kg m-2"})}
    )
    q = f.copy(data=ureg.Quantity(f.values, "K"))
    assert q.grad.differentiate("p").data.units == ureg.K / ureg.Unit("kg/m^2")
    bare = q.drop_vars("p")  # a dimension without coordinate: per (dimensionless) index
    assert bare.grad.differentiate("p").data.units == ureg.K
    nounits = q.assign_coords(p=("p", np.arange(5.0)))
    assert nounits.grad.differentiate("p").data.units == ureg.K


@requires_xarray
def test_unreadable_coordinate_units_are_a_value_error(ureg) -> None:
    import xarray as xr

    f = xr.DataArray(
        np.arange(5.0),
        dims="t",
        coords={"t": ("t", np.arange(5.0), {"units": "hours since 1900-01-01"})},
    )
    with pytest.raises(ValueError, match="t: units 'hours since 1900-01-01' cannot be read"):
        f.copy(data=ureg.Quantity(f.values, "K")).grad.differentiate("t")


@requires_xarray
@pytest.mark.parametrize(("unit", "per"), [(None, "nanosecond"), ("h", "hour"), ("D", "day")])
def test_time_axis_per_datetime_unit(ureg, unit, per) -> None:
    import xarray as xr

    t = np.array(["2000-01-01", "2000-01-02", "2000-01-04", "2000-01-05"], "datetime64[ns]")
    f = xr.DataArray(np.array([1.0, 3.0, 2.0, 5.0]), dims="time", coords={"time": t})
    q = f.copy(data=ureg.Quantity(f.values, "K"))
    out = q.grad.differentiate("time", datetime_unit=unit)
    assert out.data.units == ureg.K / ureg.parse_units(per)
    _close(out.data.magnitude, f.differentiate("time", datetime_unit=unit))
    g = q.grad.gradient("time", datetime_unit=unit)
    assert g.dvar_dtime.data.units == ureg.K / ureg.parse_units(per)


# -- attrs and Datasets -----------------------------------------------------------------


@requires_xarray
@pytest.mark.parametrize("keep_attrs", [None, True, False])
def test_keep_attrs_never_removes_pint_units(ureg, keep_attrs) -> None:
    u, _ = _grid()
    q = _quantify(u.assign_attrs(long_name="eastward wind", source="model"), ureg)
    out = q.grad.differentiate("longitude", geographic=True, keep_attrs=keep_attrs)
    assert out.data.units == ureg.Unit("m/s") / ureg.m
    assert "units" not in out.attrs
    expected = {
        None: {"long_name": "eastward derivative of eastward wind"},
        True: {"source": "model", "long_name": "eastward derivative of eastward wind"},
        False: {},
    }[keep_attrs]
    assert out.attrs == expected


@requires_xarray
def test_a_units_attr_beside_pint_units_is_dropped(ureg) -> None:
    """The data carries the units: a stale ``units`` attr must not contradict them."""
    u, v = _grid()
    qu = _quantify(u, ureg).assign_attrs(units="m/s", long_name="eastward wind")
    qv = _quantify(v, ureg).assign_attrs(units="m/s")
    out = qu.grad.differentiate("longitude", geographic=True)
    assert out.attrs == {"long_name": "eastward derivative of eastward wind"}
    for z in (
        daskgrad.vorticity(qu, qv, geographic=True),
        daskgrad.vorticity(qu, qv, geographic=True, keep_attrs=True),
    ):
        assert "units" not in z.attrs and z.data.units == ureg.Unit("m/s") / ureg.m
        assert z.attrs["long_name"] == "relative vorticity of (u, v)"


@requires_xarray
def test_dataset_differentiate_and_gradient(ureg) -> None:
    import xarray as xr

    u, v = _grid()
    ds = xr.Dataset({"u": u, "v": v, "s": ("n", np.arange(3.0), {"units": "s"})})
    pytest.importorskip("pint_xarray")
    q = ds.pint.quantify(unit_registry=ureg)
    out = q.grad.differentiate("longitude")
    assert out.u.data.units == ureg.Unit("m/s") / ureg.degree
    assert out.s.data.units == ureg.s  # passed through untouched, units kept
    g = q.grad.gradient(["latitude", "longitude"], geographic=True)
    assert set(g.data_vars) == {"du_dlatitude", "du_dlongitude", "dv_dlatitude", "dv_dlongitude"}
    ref = q.pint.dequantify().grad.gradient(["latitude", "longitude"], geographic=True)
    for name in g.data_vars:
        assert g[name].data.units == ureg.Unit("m/s") / ureg.m
        _close(g[name].data.magnitude, ref[name])


@requires_xarray
def test_curvilinear_grid_per_metre(ureg) -> None:
    import xarray as xr

    lat1, lon1 = np.linspace(-60.0, 60.0, 13), np.arange(0.0, 100.0, 10.0)
    lon2, lat2 = np.meshgrid(lon1, lat1)
    rng = np.random.default_rng(3)
    f = xr.DataArray(
        rng.normal(size=lat2.shape),
        dims=("y", "x"),
        coords={"lat": (("y", "x"), lat2), "lon": (("y", "x"), lon2)},
        name="f",
    )
    q = f.copy(data=ureg.Quantity(f.values, "K"))
    g = q.grad.gradient(geographic=True)
    ref = f.grad.gradient(geographic=True)
    for name in ("df_dlat", "df_dlon"):
        assert g[name].data.units == ureg.K / ureg.m
        _close(g[name].data.magnitude, ref[name])


# -- MetPy as the oracle, in a subprocess -------------------------------------------------

_METPY = """
import warnings
warnings.simplefilter("error")
import numpy as np, xarray as xr
import metpy.calc as mpcalc
import daskgrad

lat = np.arange(-80.0, 80.1, 2.5)
lon = np.arange(0.0, 360.0, 2.5)
phi, lam = np.meshgrid(np.deg2rad(lat), np.deg2rad(lon), indexing="ij")
coords = {
    "latitude": ("latitude", lat, {"units": "degrees_north"}),
    "longitude": ("longitude", lon, {"units": "degrees_east"}),
}
def field(values, units):
    da = xr.DataArray(values, dims=("latitude", "longitude"), coords=coords, attrs={"units": units})
    return da.metpy.quantify()
u = field(10 * np.cos(phi) + 5 * np.sin(2 * lam) * np.cos(phi) ** 2, "m/s")
v = field(3 * np.sin(3 * lam) * np.cos(phi), "m/s")
v_knots = v.metpy.convert_units("knots")
def rms(a, b):
    return float(np.sqrt(np.nanmean((a - b) ** 2) / np.nanmean(b ** 2)))
for op in ("vorticity", "divergence"):
    ours = getattr(daskgrad, op)(u, v, geographic=True, edge_order=2)
    theirs = getattr(mpcalc, op)(u, v)
    assert ours.data.units == theirs.data.units, (op, ours.data.units, theirs.data.units)
    error = rms(ours.data.magnitude, theirs.data.magnitude)
    assert error < 0.05, (op, error)
    # v in knots: ours in u's units per metre, equal as a quantity to MetPy's
    mixed = getattr(daskgrad, op)(u, v_knots, geographic=True, edge_order=2)
    reference = getattr(mpcalc, op)(u, v_knots)
    assert mixed.data.units == u.data.units / ours.data._REGISTRY.m
    assert mixed.data.dimensionality == reference.data.dimensionality
    error = rms(mixed.data.magnitude, reference.data.to(mixed.data.units).magnitude)
    assert error < 0.05, (op, "knots", error)
    scale = float(np.nanmax(np.abs(ours.data.magnitude)))  # knots -> m/s rounds: atol
    np.testing.assert_allclose(mixed.data.magnitude, ours.data.magnitude, atol=1e-12 * scale)
    print(op, "ok", error)
"""


@requires_xarray
def test_metpy_oracle() -> None:
    """daskgrad's vorticity/divergence on MetPy-quantified winds vs MetPy's (an ellipsoid
    and its own differences): within 5 % relative RMS for |lat| <= 80, same pint units."""
    if importlib.util.find_spec("metpy") is None:  # not importorskip: no metpy in this process
        pytest.skip("requires metpy")
    proc = _run(_METPY)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count(" ok ") == 2
