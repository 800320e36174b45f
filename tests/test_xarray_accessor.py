"""The ``grad`` accessor against xarray's own ``differentiate`` (identity where promised)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import raise_if_dask_computes, requires_dask, requires_xarray

pytestmark = requires_xarray

xr = pytest.importorskip("xarray")
import daskgrad  # noqa: E402,F401  (registers .grad)
from daskgrad import _labels  # noqa: E402

X = np.array([0.0, 0.5, 1.7, 2.0, 3.5, 4.0, 6.0, 6.5, 7.0, 9.0, 9.5])  # non-uniform
CHUNKINGS = [None, 4, 1, (3, 1, 5, 2)]  # NumPy; regular; size 1; ragged


def _chunk(obj, chunks, dim="x"):
    return obj if chunks is None else obj.chunk({dim: chunks})


def _array(rng, name="f", uniform=False):
    x = np.arange(11.0) * 0.5 if uniform else X
    data = rng.standard_normal((3, 11))
    return xr.DataArray(
        data,
        dims=("y", "x"),
        coords={"x": x, "y": [10, 20, 30], "lbl": ("y", list("abc"))},
        name=name,
    )


@pytest.mark.parametrize("chunks", CHUNKINGS)
@pytest.mark.parametrize("edge_order", [1, 2])
@pytest.mark.parametrize("uniform", [False, True])
def test_dataarray_identical_to_xarray(rng, chunks, edge_order, uniform):
    if chunks is not None:
        pytest.importorskip("dask.array")
    da = _array(rng, uniform=uniform)
    expected = da.differentiate("x", edge_order=edge_order)
    obj = _chunk(da, chunks)
    with raise_if_dask_computes():
        result = obj.grad.differentiate("x", edge_order=edge_order)
    if chunks is not None:
        assert result.chunks == obj.chunks
    xr.testing.assert_identical(result.compute(), expected)


@pytest.mark.parametrize("chunks", CHUNKINGS)
@pytest.mark.parametrize("edge_order", [1, 2])
def test_dataset_identical_to_xarray(rng, chunks, edge_order):
    if chunks is not None:
        pytest.importorskip("dask.array")
    ds = _array(rng).to_dataset()
    ds["g"] = ds.f * 2 + 1
    ds["no_x"] = ("y", [1.0, 2.0, 3.0], {"units": "K"})  # lacks the dim: passes unchanged
    ds["scalar"] = 3.0
    ds.attrs["title"] = "kept, as xarray keeps it"
    expected = ds.differentiate("x", edge_order=edge_order)
    with raise_if_dask_computes():
        result = _chunk(ds, chunks).grad.differentiate("x", edge_order=edge_order)
    xr.testing.assert_identical(result.compute(), expected)


def test_differentiate_along_other_dim_and_dim_without_coordinate(rng):
    da = _array(rng).drop_vars("x")
    xr.testing.assert_identical(da.grad.differentiate("x"), da.differentiate("x"))
    xr.testing.assert_identical(da.grad.differentiate("y"), da.differentiate("y"))


def test_non_index_coordinate(rng):
    da = _array(rng).assign_coords(xalt=("x", X**1.5 + 1))
    xr.testing.assert_identical(da.grad.differentiate("xalt"), da.differentiate("xalt"))


@requires_dask
@pytest.mark.parametrize("chunks", [1, (3, 1, 5, 2)])
def test_dask_backed_coordinate(rng, chunks):
    import dask.array as dsa

    da = _array(rng).chunk({"x": chunks})
    lazy = da.assign_coords(xalt=("x", dsa.from_array(X**1.5 + 1, chunks=3)))
    with raise_if_dask_computes():
        result = lazy.grad.differentiate("xalt", edge_order=2)  # xarray itself refuses
    expected = lazy.compute().differentiate("xalt", edge_order=2)
    xr.testing.assert_identical(result.compute(), expected)


@pytest.mark.parametrize("unit", [None, "D", "h", "s"])
@pytest.mark.parametrize("resolution", ["ns", "us", "s"])
@pytest.mark.parametrize("chunks", [None, 1])
def test_datetime64_coordinate(unit, resolution, chunks):
    if chunks is not None:
        pytest.importorskip("dask.array")
    time = np.datetime64("2000-01-01", resolution) + np.array([0, 1, 2, 4, 7], "timedelta64[D]")
    da = xr.DataArray([0.0, 1.0, 4.0, 9.0, 3.0], dims="time", coords={"time": time})
    expected = da.differentiate("time", datetime_unit=unit)
    result = _chunk(da, chunks, "time").grad.differentiate("time", datetime_unit=unit)
    xr.testing.assert_identical(result.compute(), expected)


@pytest.mark.parametrize("calendar", ["standard", "noleap", "360_day"])
@pytest.mark.parametrize("unit", [None, "D"])
def test_cftime_coordinate(calendar, unit):
    cftime = pytest.importorskip("cftime")
    time = [cftime.datetime(2001, m, 1, calendar=calendar) for m in (1, 2, 3, 5, 6)]
    da = xr.DataArray([0.0, 1.0, 4.0, 9.0, 3.0], dims="time", coords={"time": time})
    expected = da.differentiate("time", datetime_unit=unit)
    xr.testing.assert_identical(da.grad.differentiate("time", datetime_unit=unit), expected)


def test_datetime_data_variable():
    time = np.datetime64("2000-01-01", "ns") + np.arange(4) * np.timedelta64(6, "h")
    ds = xr.Dataset({"when": ("x", time)}, coords={"x": [0.0, 1.0, 3.0, 4.0]})
    xr.testing.assert_identical(ds.grad.differentiate("x"), ds.differentiate("x"))


def test_attrs_policy(rng):
    da = _array(rng).assign_attrs(
        units="K", long_name="temperature", standard_name="air_temperature", source="model"
    )
    da.x.attrs["units"] = "m"
    plain = da.differentiate("x")
    xr.testing.assert_identical(da.grad.differentiate("x", keep_attrs=False), plain)
    derived = da.grad.differentiate("x")
    assert derived.attrs == {
        "units": "K m-1",
        "long_name": "derivative of temperature with respect to x",
    }
    xr.testing.assert_identical(derived.drop_attrs(deep=False), plain)
    kept = da.grad.differentiate("x", keep_attrs=True)
    assert kept.attrs == {"source": "model", **derived.attrs}  # no standard_name
    assert da.attrs["units"] == "K"  # input untouched
    with pytest.raises(TypeError, match="keep_attrs"):
        da.grad.differentiate("x", keep_attrs="yes")


def test_attrs_time_units_and_unknown_coordinate_units():
    time = np.datetime64("2000-01-01", "ns") + np.arange(4) * np.timedelta64(1, "D")
    da = xr.DataArray(np.arange(4.0), dims="time", coords={"time": time}, attrs={"units": "K"})
    assert da.grad.differentiate("time", datetime_unit="s").attrs["units"] == "K s-1"
    assert da.grad.differentiate("time").attrs["units"] == "K ns-1"  # xarray's default unit
    g = da.grad.gradient("time", datetime_unit="D")
    assert g.dvar_dtime.attrs["units"] == "K day-1"
    nocoord = da.drop_vars("time")
    assert "units" not in nocoord.grad.differentiate("time").attrs  # per index: unknown
    assert nocoord.grad.differentiate("time").attrs["long_name"].startswith("derivative of")


def test_gradient_naming_and_values(rng):
    da = _array(rng, name=None)
    g = da.grad.gradient()
    assert list(g.data_vars) == ["dvar_dy", "dvar_dx"]
    xr.testing.assert_identical(g.dvar_dx.rename(None), da.differentiate("x"))
    xr.testing.assert_identical(g.dvar_dy.rename(None), da.differentiate("y"))
    ds = xr.Dataset({"t": da, "p": da * 2, "only_y": da.isel(x=0, drop=True)})
    g = ds.grad.gradient(["x", "y"], edge_order=2)
    assert list(g.data_vars) == ["dt_dx", "dt_dy", "dp_dx", "dp_dy"]  # only_y lacks x
    xr.testing.assert_identical(
        g.dp_dx.rename(None), ds.p.differentiate("x", edge_order=2).rename(None)
    )
    assert set(g.coords) == set(ds.coords)
    g_all = ds.grad.gradient()  # dims=None: each variable along all of its own dims
    assert list(g_all.data_vars) == ["dt_dy", "dt_dx", "dp_dy", "dp_dx", "donly_y_dy"]
    assert list(ds.grad.gradient("x").data_vars) == ["dt_dx", "dp_dx"]


def test_gradient_one_array_call_per_variable(rng, monkeypatch):
    calls = []
    real = _labels.gradient_planned

    def counting(f, plan):
        calls.append(tuple(ap.axis for ap in plan.axes))
        return real(f, plan)

    monkeypatch.setattr(_labels, "gradient_planned", counting)
    ds = xr.Dataset({"t": _array(rng), "p": _array(rng) * 2})
    ds.grad.gradient(["x", "y"])
    assert calls == [(1, 0), (1, 0)]


@requires_dask
@pytest.mark.parametrize("chunks", [{"x": 1, "y": 2}, {"x": (3, 1, 5, 2)}])
def test_gradient_dask_lazy_and_chunks_kept(rng, chunks):
    ds = xr.Dataset({"t": _array(rng), "p": _array(rng) * 2})
    lazy = ds.chunk(chunks)
    with raise_if_dask_computes():
        g = lazy.grad.gradient(["x", "y"], edge_order=2)
    assert g.dt_dx.chunks == lazy.t.chunks
    xr.testing.assert_identical(g.compute(), ds.grad.gradient(["x", "y"], edge_order=2))


def test_periodic_boundary_on_plain_coordinate(rng):
    x = np.arange(8.0) * 45.0
    da = xr.DataArray(rng.standard_normal(8), dims="x", coords={"x": x})
    result = da.grad.differentiate("x", boundary="periodic", period=360.0)
    rolled = da.roll(x=3, roll_coords=True)
    rolled = rolled.assign_coords(x=np.where(rolled.x > 180, rolled.x - 360, rolled.x))
    other = rolled.grad.differentiate("x", boundary="periodic", period=360.0)
    np.testing.assert_allclose(other.roll(x=-3).values, result.values, rtol=1e-13)
    with pytest.raises(ValueError, match="period"):
        da.grad.differentiate("x", boundary="periodic")
    by_index = da.drop_vars("x").grad.differentiate("x", boundary="periodic")  # no period needed
    np.testing.assert_allclose(by_index.values, result.values * 45.0, rtol=1e-13)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda o: o.grad.differentiate("z"), "not found"),
        (lambda o: o.grad.differentiate("c2d"), "must be 1 dimensional"),
        (lambda o: o.grad.differentiate("x", boundary="wrap"), "boundary"),
        (lambda o: o.grad.differentiate("x", edge_order=3), "edge_order"),
        (lambda o: o.grad.gradient(["x", "xalt"]), "both lie along dimension"),
        (lambda o: o.grad.gradient(["x"], boundary={"q": "periodic"}), "boundary"),
        (lambda o: o.grad.differentiate("x", geographic=True), "no latitude or longitude"),
        (lambda o: o.grad.differentiate("x", geographic="yes"), "geographic"),
    ],
)
def test_errors(rng, call, match):
    da = _array(rng).assign_coords(c2d=(("y", "x"), np.zeros((3, 11))), xalt=("x", np.arange(11.0)))
    with pytest.raises((ValueError, TypeError), match=match):
        call(da)


def test_gradient_no_variable_has_dims():
    ds = xr.Dataset({"a": ("x", [1.0, 2.0, 3.0])}, coords={"y": ("y", [0.0, 1.0])})
    with pytest.raises(ValueError, match="no data variable"):
        ds.grad.gradient(["y"])


def test_accessor_is_stateless_and_registered(rng):
    da = _array(rng)
    assert type(da.grad).__name__ == "GradDataArrayAccessor"
    assert type(da.to_dataset().grad).__name__ == "GradDatasetAccessor"
    assert not hasattr(da.grad, "__dict__")


def test_gradient_non_string_names():
    da = xr.DataArray(np.arange(5.0) ** 2, dims=[0], name=7)
    g = da.grad.gradient(0)
    assert list(g.data_vars) == ["d7_d0"]
    np.testing.assert_array_equal(g["d7_d0"].values, np.gradient(da.values))


@requires_dask
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_property_identical_to_xarray_any_chunking(data):
    n = data.draw(st.integers(3, 12), label="n")
    steps = data.draw(st.lists(st.sampled_from([0.5, 1.0, 1.5, 2.0]), min_size=n, max_size=n))
    x = np.cumsum(steps) * data.draw(st.sampled_from([1.0, -1.0]), label="direction")
    sizes, left = [], n
    while left:
        sizes.append(data.draw(st.integers(1, left), label="chunk"))
        left -= sizes[-1]
    edge_order = data.draw(st.sampled_from([1, 2]), label="edge_order")
    values = np.random.default_rng(n).standard_normal((3, n))
    ds = xr.Dataset({"f": (("y", "x"), values)}, coords={"x": x, "y": [0.0, 1.0, 3.0]})
    result = ds.chunk({"x": tuple(sizes)}).grad.differentiate("x", edge_order=edge_order)
    xr.testing.assert_identical(result.compute(), ds.differentiate("x", edge_order=edge_order))
    g = ds.chunk({"x": tuple(sizes), "y": 1}).grad.gradient(edge_order=edge_order)
    assert g.df_dx.chunks == ((1, 1, 1), tuple(sizes))
    xr.testing.assert_identical(
        g.df_dx.compute().rename(None), ds.f.differentiate("x", edge_order=edge_order).rename(None)
    )


def test_gradient_mapping_arguments(rng):
    da = _array(rng)
    with pytest.raises(ValueError, match="boundary"):
        da.grad.gradient(boundary={"nope": "periodic"})
    with pytest.raises(ValueError, match="period"):
        da.grad.gradient(boundary={"y": "periodic"})  # coordinates need a period
    g = da.grad.gradient(boundary={"y": "periodic"}, period={"y": 30.0})
    wrapped = (np.roll(da.values, -1, 0) - np.roll(da.values, 1, 0)) / 20.0
    np.testing.assert_allclose(g.df_dy.values, wrapped, rtol=1e-13)
    xr.testing.assert_identical(g.df_dx.rename(None), da.differentiate("x").rename(None))
    by_index = da.drop_vars("y").grad.gradient(["y"], boundary={"y": "periodic"})
    np.testing.assert_allclose(by_index.df_dy.values, wrapped * 10.0, rtol=1e-13)
