"""The adversarial sweep, kept as tests: odd layouts and dtypes, NumPy scalar types
for arguments, numpy.gradient's error phrases and floating-point warnings, rolled
periodic coordinates, accessor arguments, and Dask corner cases (unknown chunks,
coordinates chunked unlike ``f``, several graphs in one compute, threads).

Every value is compared with ``numpy.gradient`` bit for bit (or with the sorted
grid's result, or ``tests.oracles.periodic_axis``), every error with a precise type
and message, on NumPy and on Dask input.
"""

from __future__ import annotations

import threading
import warnings
from typing import Any

import numpy as np
import pytest

import daskgrad
from tests.helpers import raise_if_dask_computes, requires_dask, requires_xarray
from tests.oracles import periodic_axis

BACKENDS = ["numpy", pytest.param("dask", marks=requires_dask)]


def _lazy(a: Any, backend: str, chunks: Any = 2) -> Any:
    if backend == "numpy":
        return a
    import dask.array as da

    return da.from_array(a, chunks=chunks)


def _computed(out: Any) -> list[np.ndarray]:
    out = list(out) if isinstance(out, tuple) else [out]
    if out and hasattr(out[0], "dask"):
        import dask

        out = list(dask.compute(*out, scheduler="sync"))
    return [np.asarray(o) for o in out]


def _run(f: Any, backend: str, *varargs: Any, chunks: Any = 2, **kw: Any) -> list[np.ndarray]:
    return _computed(daskgrad.gradient(_lazy(f, backend, chunks), *varargs, **kw))


def _same(got: list[np.ndarray], want: Any) -> None:
    want = list(want) if isinstance(want, tuple | list) else [want]
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert g.dtype == w.dtype, (g.dtype, w.dtype)
        np.testing.assert_array_equal(g, w, strict=True)


RNG = np.random.default_rng(20261202)
F2 = RNG.standard_normal((5, 6))
X6 = np.cumsum(RNG.uniform(0.5, 1.5, 6))


# ----------------------------------------------------------------- layouts and dtypes
def _memmap(tmp_path: Any) -> np.ndarray:
    m = np.lib.format.open_memmap(tmp_path / "f.npy", mode="w+", dtype=np.float64, shape=(5, 6))
    m[:] = F2
    m.flush()
    return np.load(tmp_path / "f.npy", mmap_mode="r")


def _readonly() -> np.ndarray:
    f = F2.copy()
    f.flags.writeable = False
    return f


LAYOUTS = {
    "big-endian-f8": lambda tmp: F2.astype(">f8"),
    "big-endian-f4": lambda tmp: F2.astype(">f4"),
    "big-endian-i4": lambda tmp: (F2 * 100).astype(">i4"),
    "read-only": lambda tmp: _readonly(),
    "memmap": _memmap,
    "fortran": lambda tmp: np.asfortranarray(F2),
    "negative-strides": lambda tmp: F2[::-1, ::-2],
    "zero-strides": lambda tmp: np.broadcast_to(F2[0], (4, 6)),
    "longdouble": lambda tmp: F2.astype(np.longdouble),
    "float16": lambda tmp: F2.astype(np.float16),
}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("edge_order", [1, 2])
def test_layouts_and_dtypes(backend: str, layout: str, edge_order: int, tmp_path: Any) -> None:
    f = LAYOUTS[layout](tmp_path)
    x = np.cumsum(RNG.uniform(0.5, 1.5, f.shape[1]))
    want = np.gradient(f, 0.7, x, edge_order=edge_order)
    _same(_run(f, backend, 0.7, x, edge_order=edge_order), want)
    _same(_run(f, backend, edge_order=edge_order), np.gradient(f, edge_order=edge_order))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("xdtype", [np.float16, np.float32, ">f8", np.longdouble, np.int16])
def test_coordinate_dtypes(backend: str, xdtype: Any) -> None:
    x = np.array([0.0, 1.0, 2.5, 3.0, 4.5, 6.0]).astype(xdtype)
    _same(_run(F2, backend, x, axis=1, edge_order=2), np.gradient(F2, x, axis=1, edge_order=2))


@pytest.mark.parametrize("backend", BACKENDS)
def test_ten_dims_with_size_one_axes(backend: str) -> None:
    shape = (1, 3, 1, 4, 1, 1, 2, 1, 1, 3)
    f = RNG.standard_normal(shape)
    axes = (1, 3, -4, 9)
    _same(_run(f, backend, axis=axes, chunks=1), np.gradient(f, axis=axes))
    with pytest.raises(ValueError, match="axis 0 has 1 point"):
        daskgrad.gradient(_lazy(f, backend))


# ------------------------------------------------------- NumPy scalar types as arguments
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "axis",
    [np.array(1), np.int64(1), np.int8(-1), (np.int32(0), np.array(1)), np.array([1, 0])],
    ids=["0d-array", "int64", "int8-negative", "tuple-of-numpy", "1d-array"],
)
def test_numpy_integer_axis(backend: str, axis: Any) -> None:
    _same(_run(F2, backend, axis=axis), np.gradient(F2, axis=axis))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("edge_order", [np.int32(2), np.int64(1), np.array(2), np.uint8(2)])
def test_numpy_integer_edge_order(backend: str, edge_order: Any) -> None:
    want = np.gradient(F2, X6, axis=1, edge_order=edge_order)
    _same(_run(F2, backend, X6, axis=np.int16(1), edge_order=edge_order), want)


@pytest.mark.parametrize("backend", BACKENDS)
def test_boundary_and_period_dicts_with_numpy_keys(backend: str) -> None:
    period = float(X6[-1] - X6[0]) + 0.9
    got = _run(
        F2,
        backend,
        1.5,
        X6,
        boundary={np.int64(1): "periodic", np.int8(0): "none"},
        period={np.intp(-1): period},
    )
    want = [np.gradient(F2, 1.5, axis=0), periodic_axis(F2, 1, X6, period)]
    _same(got, want)


# -------------------------------------------------------- numpy.gradient's error phrases
PHRASES = [
    ((np.zeros((2, 3)),), {}, ValueError, "distances must be either scalars or 1d"),
    ((np.arange(3.0),), {}, ValueError, "distances must match the length of the corresponding"),
    ((1.0, 2.0), {}, TypeError, "invalid number of arguments"),
    ((X6,), {"axis": None}, TypeError, "invalid number of arguments"),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("varargs", "kw", "exc", "phrase"), PHRASES)
def test_numpy_error_phrases(backend: str, varargs, kw, exc, phrase) -> None:
    f = F2[0] if varargs[0] is not X6 else F2
    with pytest.raises(exc, match=phrase):
        np.gradient(f, *varargs, **kw)  # the phrase is numpy's own
    with raise_if_dask_computes(), pytest.raises(exc, match=f"varargs: .*{phrase}"):
        daskgrad.gradient(_lazy(f, backend), *varargs, **kw)


@pytest.mark.parametrize("backend", BACKENDS)
def test_torch_form_names_spacing(backend: str) -> None:
    with pytest.raises(ValueError, match="spacing: distances must be either scalars or 1d"):
        daskgrad.gradient(_lazy(F2, backend), spacing=[np.zeros(5), np.zeros((6, 1))])


# -------------------------------------------------------------------- bool coordinates
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("x", [[0, 1, 0, 1, 0, 1], [1, 1, 0, 0, 1, 0]])
def test_bool_coordinates_are_refused(backend: str, x: list) -> None:
    x = np.array(x, dtype=bool)
    with raise_if_dask_computes(), pytest.raises(TypeError, match="varargs: bool coordinates"):
        daskgrad.gradient(_lazy(F2, backend), x, axis=1)
    with pytest.raises(TypeError, match="spacing: bool coordinates"):
        daskgrad.gradient(_lazy(F2, backend), spacing=[_lazy(x, backend)], dim=1)


# ---------------------------------------------------------- floating-point warnings
def _kinds(record: list) -> set[str]:
    return {str(w.message).split(" encountered")[0] for w in record}


WARNING_CASES = {
    "tiny-spacing": (np.array([1.0, 2, 4, 7, 11, 16]), (5e-324,), {}),
    "tiny-spacing-e2": (np.array([1.0, 2, 4, 7, 11, 16]), (5e-324,), {"edge_order": 2}),
    "near-max-data": (np.array([-1e308, 1e308, -1e308, 1e308, 0.0, 1.0]), (), {}),
    "numpy-zero-spacing": (np.array([1.0, 2, 2, 7, 11, 16]), (np.float64(0.0),), {}),
    "numpy-zero-e2": (np.array([1.0, 2, 2, 7, 11, 16]), (np.float64(0),), {"edge_order": 2}),
    "python-zero-e1": (np.array([1.0, 2, 2, 7, 11, 16]), (0.0,), {}),
    "repeated-coordinate": (
        np.array([1.0, 2, 4, 7, 11, 16]),
        (np.array([0, 1, 1, 2, 3, 4.0]),),
        {},
    ),
    "inf-minus-inf": (np.array([np.inf, 1.0, np.inf, 3, 4, 5]), (), {}),
    "float32-overflow": (np.array([-3e38, 3e38, 0, 1, 2, 3], np.float32), (0.5,), {}),
}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", list(WARNING_CASES))
def test_warns_as_numpy(backend: str, case: str) -> None:
    f, varargs, kw = WARNING_CASES[case]
    with warnings.catch_warnings(record=True) as want_w:
        warnings.simplefilter("always")
        want = np.gradient(f, *varargs, **kw)
    with warnings.catch_warnings(record=True) as got_w:
        warnings.simplefilter("always")
        got = _run(f, backend, *varargs, chunks=3, **kw)
    _same(got, want)
    assert want_w and {w.category for w in got_w} == {RuntimeWarning}
    assert _kinds(got_w) == _kinds(want_w)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", list(WARNING_CASES))
def test_errstate_is_honoured(backend: str, case: str) -> None:
    f, varargs, kw = WARNING_CASES[case]
    with np.errstate(all="ignore"):  # filterwarnings=error: any warning would fail here
        _same(_run(f, backend, *varargs, chunks=3, **kw), np.gradient(f, *varargs, **kw))
    with np.errstate(all="raise"):
        with pytest.raises(FloatingPointError):
            np.gradient(f, *varargs, **kw)
        with pytest.raises(FloatingPointError):
            _run(f, backend, *varargs, chunks=3, **kw)


@pytest.mark.parametrize("backend", BACKENDS)
def test_no_warning_for_nan_data(backend: str) -> None:
    """NaNs in the data raise no flag: no warning (as numpy), the fast path stays."""
    f = RNG.standard_normal((40, 50))
    f[::7, ::3] = np.nan
    x = np.cumsum(RNG.uniform(0.5, 1.5, 50))
    with np.errstate(all="raise"):
        want = np.gradient(f, 0.5, x, edge_order=2)
        _same(_run(f, backend, 0.5, x, chunks=16, edge_order=2), want)
        if backend == "numpy" and pytest.importorskip("numba"):
            from daskgrad.kernels import AxisSpec, _numba

            specs = (AxisSpec(0, 2, h=0.5), AxisSpec(1, 2, dx=np.diff(x)))
            assert _numba.try_gradient_block(f, specs, f.dtype) is not None


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("zero", [0.0, 0, False])
def test_python_zero_spacing_edge_order_2(backend: str, zero: Any) -> None:
    f = np.array([1.0, 2.0, 4.0, 7.0])
    with np.errstate(all="ignore"), pytest.raises(ZeroDivisionError):
        np.gradient(f, zero, edge_order=2)
    with raise_if_dask_computes(), pytest.raises(ZeroDivisionError, match="varargs: .*zero"):
        daskgrad.gradient(_lazy(f, backend), zero, edge_order=2)
    with pytest.raises(ValueError, match="spacing: .*zero"):  # also a ValueError
        daskgrad.gradient(_lazy(f, backend), spacing=zero, edge_order=2)


def test_fpe_flags_probe() -> None:
    """The CPU flag constants are right here (else the slower fallback is used)."""
    pytest.importorskip("numba")
    from daskgrad.kernels import _fpe, _numba

    assert _numba._fpe_works() == _fpe.AVAILABLE


# -------------------------------------------------------- rolled periodic coordinates
ROLLED = {
    "30deg": np.r_[np.arange(180.0, 360.0, 30.0), np.arange(0.0, 180.0, 30.0)],
    "2.5deg": np.roll(np.arange(0.0, 360.0, 2.5), 37),
    "decreasing": np.roll(np.arange(0.0, 360.0, 2.5)[::-1], 11),
    "non-uniform": np.array([200.0, 250.0, 300.0, 10.0, 40.0, 100.0, 170.0]),
}


@pytest.mark.parametrize("backend", [*BACKENDS, pytest.param("dask-coords", marks=requires_dask)])
@pytest.mark.parametrize("name", list(ROLLED))
def test_rolled_periodic_coordinates(backend: str, name: str) -> None:
    lon = ROLLED[name]
    f = RNG.standard_normal((3, lon.size))
    order = np.argsort(lon)
    sorted_g = daskgrad.gradient(f[:, order], lon[order], axis=1, boundary="periodic", period=360)
    want = np.empty_like(sorted_g)
    want[:, order] = sorted_g
    x = _lazy(lon, "dask", 5) if backend == "dask-coords" else lon
    kw = {"axis": 1, "boundary": "periodic", "period": 360.0}
    (got,) = _run(f, "numpy" if backend == "numpy" else "dask", x, chunks=(2, 5), **kw)
    _same([got], want)


@requires_xarray
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", ["30deg", "2.5deg", "decreasing"])
def test_rolled_geographic_longitude(backend: str, name: str) -> None:
    import xarray as xr

    lon = ROLLED[name]
    data = RNG.standard_normal((5, lon.size))
    da = xr.DataArray(
        _lazy(data, backend, (2, 7)),
        dims=("lat", "lon"),
        coords={"lat": np.linspace(-60.0, 60.0, 5), "lon": lon},
        name="t",
    )
    got = da.grad.gradient(geographic=True).sortby("lon").compute()
    want = da.sortby("lon").grad.gradient(geographic=True).compute()
    xr.testing.assert_identical(got, want)
    assert daskgrad._geo.is_whole_circle(lon)


# ------------------------------------------------------------------ accessor arguments
@requires_xarray
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "call",
    [
        lambda a: a.grad.differentiate("x", period=10.0),
        lambda a: a.grad.gradient(period={"x": 10.0}),
        lambda a: a.grad.gradient(["x", "y"], period=10.0),
        lambda a: a.grad.gradient(period=10.0),
        lambda a: a.grad.gradient(boundary={"y": "periodic"}, period={"x": 10.0}),
        lambda a: a.grad.differentiate("y", boundary="periodic", period=7.0),
        lambda a: daskgrad.divergence(a, a, dims=("x", "y"), period=10.0),
    ],
    ids=[
        "differentiate",
        "gradient-map",
        "gradient-dims",
        "gradient-all",
        "other-axis",
        "unit-spacing-wrong-period",
        "divergence",
    ],
)
def test_accessor_period_not_ignored(backend: str, call: Any) -> None:
    import xarray as xr

    a = xr.DataArray(
        _lazy(RNG.standard_normal((4, 6)), backend),
        dims=("y", "x"),
        coords={"x": np.arange(6.0) * 2},
    )
    with pytest.raises(ValueError, match="period"):
        call(a)


@requires_xarray
def test_accessor_period_where_it_applies() -> None:
    import xarray as xr

    data = RNG.standard_normal((4, 6))
    a = xr.DataArray(data, dims=("y", "x"), coords={"x": np.arange(6.0) * 2})
    got = a.grad.differentiate("x", boundary="periodic", period=12.0)
    np.testing.assert_array_equal(got.values, periodic_axis(data, 1, a.x.values, 12.0))
    got = a.grad.gradient("y", boundary="periodic", period=4.0).dvar_dy
    np.testing.assert_array_equal(got.values, periodic_axis(data, 0, 1.0))
    lon = xr.DataArray(
        data.T,
        dims=("lon", "lat"),
        coords={"lon": np.arange(0.0, 360.0, 60.0), "lat": [-10.0, 0.0, 10.0, 20.0]},
    )
    with_period = lon.grad.differentiate("lon", geographic=True, period=360.0)
    xr.testing.assert_identical(with_period, lon.grad.differentiate("lon", geographic=True))


@requires_xarray
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dims", [None, ["x"]])
def test_dataset_skips_non_numeric_variables(backend: str, dims: Any) -> None:
    import xarray as xr

    ds = xr.Dataset(
        {
            "a": ("x", _lazy(np.arange(5.0) ** 2, backend)),
            "s": ("x", np.array(list("abcde"))),
            "o": ("x", np.array([None] * 5, dtype=object)),
        },
        coords={"x": np.arange(5.0)},
    )
    with pytest.warns(UserWarning, match=r"skipping non-numeric data variable\(s\) 's', 'o'"):
        g = ds.grad.gradient(dims)
    assert list(g.data_vars) == ["da_dx"]
    np.testing.assert_array_equal(g.da_dx.values, np.gradient(np.arange(5.0) ** 2, np.arange(5.0)))


# ------------------------------------------------------------------ Dask corner cases
@requires_dask
def test_unknown_chunk_sizes_are_a_clear_error() -> None:
    import dask.array as da

    x = da.from_array(np.arange(10.0), chunks=3)
    y = x[x > 2]
    with raise_if_dask_computes(), pytest.raises(ValueError, match="unknown chunk sizes"):
        daskgrad.gradient(y)
    g = daskgrad.gradient(y.compute_chunk_sizes())
    _same(_computed(g), np.gradient(np.arange(3.0, 10.0)))


@requires_dask
def test_unknown_coordinate_length_is_a_clear_error() -> None:
    import dask.array as da

    x = da.from_array(np.arange(10.0), chunks=3)
    with raise_if_dask_computes(), pytest.raises(ValueError, match="varargs: .*length nan"):
        daskgrad.gradient(da.from_array(np.arange(7.0), chunks=3), x[x > 2])


@requires_dask
@pytest.mark.parametrize("edge_order", [1, 2])
def test_coordinates_chunked_unlike_f(edge_order: int) -> None:
    import dask.array as da

    f = RNG.standard_normal((7, 11))
    x0, x1 = np.cumsum(RNG.uniform(0.5, 1.5, 7)), np.cumsum(RNG.uniform(0.5, 1.5, 11))
    got = daskgrad.gradient(
        da.from_array(f, chunks=(3, 4)),
        da.from_array(x0, chunks=5),
        da.from_array(x1, chunks=(1, 2, 8)),
        edge_order=edge_order,
    )
    _same(_computed(got), np.gradient(f, x0, x1, edge_order=edge_order))


@requires_dask
@pytest.mark.parametrize("lazy", [False, True])
def test_two_gradients_with_different_coordinates_in_one_compute(lazy: bool) -> None:
    import dask
    import dask.array as da

    f = RNG.standard_normal(12)
    xs = [np.cumsum(RNG.uniform(0.5, 1.5, 12)) for _ in range(2)] + [np.arange(12.0) * 3]
    x = da.from_array(f, chunks=5)
    gs = [daskgrad.gradient(x, da.from_array(c, chunks=4) if lazy else c) for c in xs]
    gs.append(daskgrad.gradient(x, 0.5))
    got = dask.compute(*gs, scheduler="threads")
    for g, c in zip(got, [*xs, 0.5], strict=True):
        _same([g], np.gradient(f, c))


@pytest.mark.parametrize("backend", BACKENDS)
def test_four_threads_at_once(backend: str) -> None:
    """Four threads calling gradient at once (numba's threading layer is entered
    only from the main thread), each result compared with numpy.gradient."""
    inputs = [RNG.standard_normal((64, 48, 40)) for _ in range(4)]
    coords = [np.cumsum(RNG.uniform(0.5, 1.5, 40)) for _ in range(4)]
    results: list[Any] = [None] * 4
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def work(i: int) -> None:
        try:
            barrier.wait()
            for _ in range(3):
                results[i] = _run(inputs[i], backend, 0.5, 2.0, coords[i], chunks=(20, 48, 16))
        except BaseException as err:  # reported in the main thread
            errors.append(err)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for f, x, got in zip(inputs, coords, results, strict=True):
        _same(got, np.gradient(f, 0.5, 2.0, x))
