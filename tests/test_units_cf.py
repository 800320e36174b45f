"""CF ``units`` attrs of derivatives (daskgrad/_units.py, cf-units): a table of unit
strings seen in ERA5, CMIP6 and NCEP files against hand-written answers, and the
attrs end to end through the accessor, ``divergence`` and ``vorticity``.

Expected answers are written by hand: the exact string per metre and per hour, and,
for the other coordinates, a hand-written spelling of what the input means (``hPa``
-> ``100 N m-2``) that UDUNITS must find equal to the output: never the library's
own reading of the input string itself.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import raise_if_dask_computes, requires_dask, requires_xarray

cf_units = pytest.importorskip("cf_units")
Unit = cf_units.Unit
xr = pytest.importorskip("xarray")
import daskgrad  # noqa: E402
from daskgrad._units import divide, read, same_units, vector_units  # noqa: E402

pytestmark = requires_xarray

# (input units, what it means in other words, exact output per m, exact output per h)
READABLE = [
    ("K", "kelvin", "K m-1", "K h-1"),  # ERA5 t2m
    ("kelvin", "K", "kelvin m-1", "kelvin h-1"),
    ("degC", "K", "degC m-1", "degC h-1"),  # a difference: no 273.15
    ("degree_Celsius", "K", "degree_Celsius m-1", "degree_Celsius h-1"),
    ("degF", "K/1.8", "degF m-1", "degF h-1"),
    ("m s**-1", "meter/second", "s-1", "m s-1 h-1"),  # ERA5 u10
    ("m s-1", "meter/second", "s-1", "m s-1 h-1"),  # CMIP6 uas
    ("m/s", "meter second-1", "s-1", "m s-1 h-1"),
    ("meter / second", "m s-1", "second-1", "meter second-1 h-1"),
    ("knots", "nautical_mile hour-1", "knots m-1", "knots h-1"),
    ("m s**-2", "N kg-1", "s-2", "m s-2 h-1"),
    ("kg m**-2 s**-1", "mm s-1 (1000 kg m-3)", "kg m-3 s-1", "kg m-2 s-1 h-1"),  # ERA5
    ("kg m-2 s-1", "mm s-1 (1000 kg m-3)", "kg m-3 s-1", "kg m-2 s-1 h-1"),  # CMIP6 pr
    ("kg/m^2/s", "kg m-2 s-1", "kg m-3 s-1", "kg m-2 s-1 h-1"),
    ("kg m^-2 s^-1", "kg m-2 s-1", "kg m-3 s-1", "kg m-2 s-1 h-1"),
    ("Pa", "N m-2", "Pa m-1", "Pa h-1"),  # ERA5 msl, sp
    ("hPa", "100 N m-2", "hPa m-1", "hPa h-1"),
    ("Pa s**-1", "N m-2 s-1", "Pa s-1 m-1", "Pa s-1 h-1"),  # ERA5 w (omega)
    ("N m**-2", "Pa", "N m-3", "N m-2 h-1"),  # ERA5 wind stress
    ("1", "mol mol-1", "m-1", "h-1"),  # CMIP6 fractions
    ("%", "0.01", "% m-1", "% h-1"),  # CMIP6 clt, hurs
    ("ppm", "1e-6", "ppm m-1", "ppm h-1"),
    ("0.001", "g kg-1", "0.001 m-1", "0.001 h-1"),  # CMIP6 so
    ("1e-3", "g kg-1", "1e-3 m-1", "1e-3 h-1"),
    ("mol mol-1", "1", "m-1", "h-1"),  # CMIP6 co2
    ("kg kg**-1", "1", "m-1", "h-1"),  # ERA5 q
    ("kg kg-1", "1", "m-1", "h-1"),  # CMIP6 hus
    ("kg/kg", "1", "m-1", "h-1"),
    ("m**3 m**-3", "1", "m-1", "h-1"),  # ERA5 swvl1
    ("J kg**-1", "m2 s-2", "J kg-1 m-1", "J kg-1 h-1"),  # ERA5 cape
    ("m**2 s**-2", "J/kg", "m s-2", "m2 s-2 h-1"),  # ERA5 z
    ("m2 s-2", "J/kg", "m s-2", "m2 s-2 h-1"),
    ("W m**-2", "J s-1 m-2", "W m-3", "W m-2 h-1"),  # ERA5 ssr
    ("W m-2 sr-1", "J s-1 m-2 sr-1", "W m-3 sr-1", "W m-2 sr-1 h-1"),
    ("s**-1", "Hz", "s-1 m-1", "s-1 h-1"),  # ERA5 vo, d
    ("kg m-3", "g/l", "kg m-4", "kg m-3 h-1"),
    ("kg m**-2", "mm (1000 kg m-3)", "kg m-3", "kg m-2 h-1"),  # ERA5 tcwv
    ("mol m-3", "mmol l-1", "mol m-4", "mol m-3 h-1"),  # CMIP6 ocean biogeochemistry
    ("m", "meter", "1", "m h-1"),  # ERA5 tp, sd
    ("cm", "0.01 m", "cm m-1", "cm h-1"),
    ("mm", "0.001 m", "mm m-1", "mm h-1"),
    ("mm/day", "mm d-1", "mm day-1 m-1", "mm day-1 h-1"),
    ("mm day-1", "mm d-1", "mm day-1 m-1", "mm day-1 h-1"),
    ("K m s**-1", "m K s-1", "K s-1", "K m s-1 h-1"),  # heat flux
    ("K s-1", "K Hz", "K s-1 m-1", "K s-1 h-1"),  # NCEP heating rates
    ("K m**2 kg**-1 s**-1", "1e6 PVU", "K m kg-1 s-1", "K m2 kg-1 s-1 h-1"),  # ERA5 pv
    ("degrees_north", "degree", "degree m-1", "degree h-1"),
    ("degrees_east", "degree", "degree m-1", "degree h-1"),
    ("day", "24 h", "day m-1", "day h-1"),
    ("(m/s)", "m s-1", "s-1", "m s-1 h-1"),  # not a product: UDUNITS' reading is spelled
    ("10-6 m2 s-1 kg-1", "1e-6 m2 s-1 kg-1", "1e-06 m kg-1 s-1", "1e-06 m2 kg-1 s-1 h-1"),
]
# strings UDUNITS cannot read, or reads as no positive amount: no units at all
UNREADABLE = [
    "(0 - 1)",  # ERA5 cloud cover, sea-ice fraction
    "m of water equivalent",  # ERA5 sd, tp's long form
    "~",  # ERA5 ptype
    "dimensionless",
    "foo bar",
    "-1",
    "0",
    "",
    "   ",
    "gpm",  # NCEP geopotential height: not a UDUNITS unit
    "days since 1900-01-01",  # a time reference, not an amount
]
# coordinate units (time axes: the UDUNITS spelling of datetime_unit), the hand-written
# meaning of each
COORDS = {"m": "meter", "km": "1000 m", "s": "second", "h": "3600 s", "day": "86400 s"}
_WORD = re.compile(r"^(.*?)([+-]?\d+)?$")


def _names(units: str) -> list[str]:
    """The unit names of an output string: ``"kg m-3 s-1"`` -> ``["kg", "m", "s"]``."""
    names = [_WORD.match(word).group(1) for word in units.split()]
    return [n for n in names if n and not re.match(r"^[\d.eE+-]+$", n)]


def _assert_no_unit_twice(units: str) -> None:
    names = _names(units)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert Unit(a) != Unit(b), f"{units!r}: {a!r} and {b!r} are one unit"


def test_table_size():
    assert len(READABLE) + len(UNREADABLE) >= 40 and len(READABLE) >= 40


@pytest.mark.parametrize(("units", "meaning", "per_m", "per_h"), READABLE)
def test_exact_strings_per_metre_and_per_hour(units, meaning, per_m, per_h):
    assert divide(units, "m") == per_m
    assert divide(units, "h") == per_h
    for out in (per_m, per_h):
        _assert_no_unit_twice(out)
        for banned in ("delta_", "dimensionless", "Δ", "274.15", "273.15"):
            assert banned not in out


@pytest.mark.parametrize(("units", "meaning", "per_m", "per_h"), READABLE)
@pytest.mark.parametrize("coord", sorted(COORDS))
def test_meaning_exact_for_every_coordinate(units, meaning, per_m, per_h, coord):
    """UDUNITS reads the output as the hand-written meaning / the coordinate: exact
    (never rescaled: a factor 1 to rounding, as the meaning's own numbers are floats),
    read back by UDUNITS, no unit twice."""
    out = divide(units, coord)
    assert out is not None
    want = Unit(f"({meaning}) / ({COORDS[coord]})")
    assert Unit(out).is_convertible(want), out
    assert Unit(out).convert(1.0, want) == pytest.approx(1.0, rel=1e-12), out  # no factor
    _assert_no_unit_twice(out)


@pytest.mark.parametrize("units", UNREADABLE)
@pytest.mark.parametrize("coord", ["m", "km", "h", "s", "degrees_north", "foo"])
def test_unreadable_gives_no_units(units, coord):
    assert read(units) is None
    assert divide(units, coord) is None
    assert divide("K", units) is None  # as a coordinate's units too


def test_not_rescaled():
    assert divide("cm s-1", "m") == "cm s-1 m-1"  # never s-1
    assert divide("K", "km") == "K km-1"  # never 0.001 K m-1
    assert divide("hPa", "Pa") == "hPa Pa-1"
    assert divide("m", "km") == "m km-1"
    assert divide("m", "meter") == "1"  # one unit however spelled
    assert divide("degC", "m") == "degC m-1" and Unit("degC m-1") == Unit("K m-1")
    assert divide(None, "m") is None and divide("K", None) is None and divide(3, "m") is None


def test_non_string_and_odd_inputs_never_raise():
    for value in (None, 1, 1.5, b"K", ["K"], {"K": 1}, "dBZ", "lg(re 1 mW)", "(0 - 1)"):
        divide(value, "m")
        divide("K", value)
    for value in (None, 1, b"m s-1", ["m s-1"], "(0 - 1)", "foo"):
        assert vector_units(value, "m s-1") == vector_units("m s-1", value) == (None, 1.0)
    assert divide(np.str_("K"), "m") == "K m-1"
    assert vector_units(np.str_("m s-1"), "m/s") == ("m s-1", 1.0)


def test_vector_units():
    assert vector_units("m s-1", "m/s") == ("m s-1", 1.0)
    assert vector_units("m s-1", "meter second-1") == ("m s-1", 1.0)
    units, factor = vector_units("m s-1", "knots")
    assert units == "m s-1" and factor == pytest.approx(1852 / 3600, rel=1e-15)
    units, factor = vector_units("knots", "km h-1")
    assert units == "knots" and factor == pytest.approx(1000 / 1852, rel=1e-15)
    assert vector_units("K", "degC") == ("K", 1.0)  # a difference: offsets aside
    assert vector_units("m s-1", None) == (None, 1.0)
    assert vector_units(None, None) == (None, 1.0)
    assert vector_units("foo", "foo") == (None, 1.0)
    assert vector_units("m s-1", "(0 - 1)") == (None, 1.0)
    with pytest.raises(ValueError, match="not compatible"):
        vector_units("m s-1", "K")
    assert same_units("m", "meter") and not same_units("m", "km")


# -- end to end ------------------------------------------------------------------------


def _field(units, x_units="m", name="f", long_name="field"):
    x = xr.DataArray(np.array([0.0, 1.0, 3.0, 4.0, 7.0]), dims="x", attrs={"units": x_units})
    attrs = {"long_name": long_name} if units is None else {"units": units, "long_name": long_name}
    return xr.DataArray((x**2).values, dims="x", coords={"x": x}, name=name, attrs=attrs)


@pytest.mark.parametrize(
    ("units", "x_units", "expected"),
    [
        ("K", "m", "K m-1"),
        ("K", "km", "K km-1"),
        ("hPa", "km", "hPa km-1"),
        ("m s**-1", "m", "s-1"),
        ("meter / second", "m", "second-1"),
        ("kg/m^2/s", "m", "kg m-3 s-1"),
        ("%", "m", "% m-1"),
        ("degC", "m", "degC m-1"),
        ("cm s-1", "m", "cm s-1 m-1"),
        ("K", "degrees_north", "K degree-1"),  # not geographic: per degree
    ],
)
def test_differentiate_units(units, x_units, expected):
    f = _field(units, x_units)
    got = f.grad.differentiate("x")
    assert got.attrs == {"units": expected, "long_name": "derivative of field with respect to x"}
    xr.testing.assert_identical(
        got.drop_attrs(deep=False), f.drop_attrs(deep=False).differentiate("x")
    )


@pytest.mark.parametrize("units", ["(0 - 1)", "m of water equivalent", "foo bar", "~"])
def test_unreadable_keeps_long_name(units):
    got = _field(units).grad.differentiate("x")
    assert got.attrs == {"long_name": "derivative of field with respect to x"}
    kept = _field(units).grad.differentiate("x", keep_attrs=True)
    assert kept.attrs == {"long_name": "derivative of field with respect to x"}
    assert "units" not in _field("K", x_units="foo bar").grad.differentiate("x").attrs


def test_time_axis_units():
    time = np.datetime64("2000-01-01", "ns") + np.arange(5) * np.timedelta64(6, "h")
    f = xr.DataArray(np.arange(5.0) ** 2, dims="time", coords={"time": time}, name="t2m")
    f.attrs = {"units": "K", "long_name": "2 metre temperature"}
    assert f.grad.differentiate("time", datetime_unit="h").attrs["units"] == "K h-1"
    assert f.grad.differentiate("time", datetime_unit="s").attrs["units"] == "K s-1"
    assert f.grad.differentiate("time").attrs["units"] == "K ns-1"  # the coordinate's own
    g = f.assign_attrs(units="kg m**-2 s**-1").grad.gradient("time", datetime_unit="D")
    assert g.dt2m_dtime.attrs["units"] == "kg m-2 s-1 day-1"
    assert (
        f.assign_attrs(units="m s-1").grad.differentiate("time", datetime_unit="s").attrs["units"]
        == "m s-2"
    )


def test_geographic_units():
    from daskgrad.datasets import sphere_grid

    g = sphere_grid(7, 12)
    f = (g.latitude + 0 * g.longitude).rename("z")
    for units, expected in [("hPa", "hPa m-1"), ("m**2 s**-2", "m s-2"), ("knots", "knots m-1")]:
        out = f.assign_attrs(units=units).grad.gradient(geographic=True)
        assert out.dz_dlatitude.attrs["units"] == out.dz_dlongitude.attrs["units"] == expected


def _winds(u_units, v_units, chunks=None):
    x = xr.DataArray(np.cumsum(np.linspace(0.5, 1.5, 6)), dims="x", attrs={"units": "m"})
    y = xr.DataArray(np.cumsum(np.linspace(1.5, 0.5, 5)), dims="y", attrs={"units": "m"})
    x, y = x.assign_coords(x=x), y.assign_coords(y=y)
    u = (2.0 * x**2 - 3.0 * y).transpose("y", "x").rename("u")
    v = (5.0 * x + 0.5 * y**2).transpose("y", "x").rename("v")
    u.attrs = {"units": u_units} if u_units is not None else {}
    v.attrs = {"units": v_units} if v_units is not None else {}
    if chunks is not None:
        u, v = u.chunk(chunks), v.chunk(chunks)
    return u, v


@pytest.mark.parametrize("op", [daskgrad.divergence, daskgrad.vorticity])
def test_vector_equal_units_keep_units_and_long_name(op):
    u, v = _winds("m s-1", "m/s")  # equal as units; units are the inputs' only attrs
    label = "divergence" if op is daskgrad.divergence else "relative vorticity"
    assert op(u, v).attrs == {"units": "s-1", "long_name": f"{label} of (u, v)"}
    u2, v2 = _winds("m s-1", "m s-1")
    xr.testing.assert_identical(op(u, v), op(u2, v2))


@pytest.mark.parametrize("op", [daskgrad.divergence, daskgrad.vorticity])
def test_vector_compatible_units_convert_v(op):
    u, v = _winds("m s-1", "knots")
    got = op(u, v)
    v_ms = (v * (1852 / 3600)).assign_attrs(units="m s-1")  # v converted by hand
    want = op(u, v_ms)
    assert got.attrs["units"] == "s-1"
    xr.testing.assert_allclose(got, want, rtol=1e-14)
    assert v.attrs == {"units": "knots"}  # the input is untouched
    # u in knots: the result is in knots per metre, v converted from m s-1
    got_kt = op(v.rename("u"), u.rename("v"))
    assert got_kt.attrs["units"] == "knots m-1"


@pytest.mark.parametrize("op", [daskgrad.divergence, daskgrad.vorticity])
def test_vector_incompatible_units_raise(op):
    u, v = _winds("m s-1", "K")
    with pytest.raises(ValueError, match="not compatible"):
        op(u, v)


@pytest.mark.parametrize("op", [daskgrad.divergence, daskgrad.vorticity])
def test_vector_unknown_units_keep_long_name(op):
    for u_units, v_units in [("m s-1", None), ("foo", "foo"), ("m s-1", "(0 - 1)")]:
        u, v = _winds(u_units, v_units)
        assert set(op(u, v).attrs) == {"long_name"}
    u, v = _winds(None, None)
    assert op(u, v).attrs == {}


@requires_dask
def test_vector_dask_lazy_and_raises_at_call_time():
    chunks = {"x": 3, "y": 2}
    u, v = _winds("m s-1", "knots", chunks=chunks)
    with raise_if_dask_computes():
        got = daskgrad.vorticity(u, v)
    assert got.chunks is not None
    want = daskgrad.vorticity(*_winds("m s-1", "knots"))
    xr.testing.assert_allclose(got.compute(), want, rtol=1e-14)
    u, v = _winds("m s-1", "K", chunks=chunks)
    with raise_if_dask_computes(), pytest.raises(ValueError, match="not compatible"):
        daskgrad.divergence(u, v)


def test_import_does_not_import_units_library():
    root = Path(__file__).resolve().parents[1]
    code = (
        "import sys, daskgrad, daskgrad.xarray, daskgrad.vector\n"
        "assert 'cf_units' not in sys.modules, 'cf_units imported'\n"
    )
    env = dict(os.environ, PYTHONPATH=str(root))
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
