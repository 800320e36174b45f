"""dtype rules: bool and every integer type give float64 with no wrap-around
(bool is accepted, unlike NumPy: compared with ``numpy.gradient(f.astype(float64))``);
float16/32/64 and complex keep their dtype -- on NumPy and on Dask (where
``dask.array.gradient`` upcasts float16); array-likes (lists, CPU torch tensors)
give NumPy arrays. datetime/timedelta/object data and masked arrays are refused
(tests/test_errors.py).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import daskgrad
from tests.helpers import raise_if_dask_computes, requires_dask, requires_torch

BACKENDS = ["numpy", pytest.param("dask", marks=requires_dask)]
INT_TYPES = [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64]
# rtol per output dtype: float16 is computed in float16 (NumPy), so a few ulps
RTOL = {
    np.float16: 2e-3,
    np.float32: 1e-6,
    np.float64: 1e-12,
    np.complex64: 1e-6,
    np.complex128: 1e-12,
}


def _run(f: np.ndarray, backend: str, *varargs: Any, **kwargs: Any) -> Any:
    if backend == "numpy":
        return daskgrad.gradient(f, *varargs, **kwargs)
    import dask.array as da

    fd = da.from_array(f, chunks=((1, 2, f.shape[0] - 3),) + f.shape[1:])
    with raise_if_dask_computes():
        out = daskgrad.gradient(fd, *varargs, **kwargs)
    outs = out if isinstance(out, tuple) else (out,)
    for o in outs:
        assert o.chunks == fd.chunks
        assert o._meta.dtype == o.dtype
    computed = da.compute(*outs)
    return computed if isinstance(out, tuple) else computed[0]


def _lazy_dtype(f: np.ndarray, backend: str, **kwargs: Any) -> np.dtype:
    """The dtype the result advertises before computing (Dask) or has (NumPy)."""
    if backend == "dask":
        import dask.array as da

        f = da.from_array(f, chunks=2)
    out = daskgrad.gradient(f, **kwargs)
    dtypes = {o.dtype for o in (out if isinstance(out, tuple) else (out,))}
    assert len(dtypes) == 1
    return dtypes.pop()


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", INT_TYPES + [np.bool_], ids=lambda t: np.dtype(t).name)
@pytest.mark.parametrize("edge_order", [1, 2])
def test_bool_and_integers_give_float64(backend: str, dtype: Any, edge_order: int) -> None:
    info = np.iinfo(dtype) if dtype is not np.bool_ else None
    if info is None:
        f = np.array([True, False, True, True, False, False])
    else:  # the extremes of the type: a wrap-around would show
        f = np.array([info.min, info.max, info.min, 0, info.max, info.max], dtype=dtype)
    assert _lazy_dtype(f, backend, edge_order=edge_order) == np.float64
    g = _run(f, backend, edge_order=edge_order)
    assert g.dtype == np.float64
    np.testing.assert_array_equal(g, np.gradient(f.astype(np.float64), edge_order=edge_order))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "dtype",
    [np.float16, np.float32, np.float64, np.complex64, np.complex128],
    ids=lambda t: np.dtype(t).name,
)
@pytest.mark.parametrize("spacing", ["none", "scalar", "coords"])
def test_inexact_types_kept(backend: str, dtype: Any, spacing: str) -> None:
    rng = np.random.default_rng(2)
    f = rng.standard_normal((7, 3))
    if np.dtype(dtype).kind == "c":
        f = f + 1j * rng.standard_normal((7, 3))
    f = f.astype(dtype)
    varargs = {
        "none": (),
        "scalar": (0.5,),
        "coords": (np.array([0.0, 1.0, 1.5, 3.5, 4.0, 6.0, 7.5]), 2.0),
    }[spacing]
    assert _lazy_dtype(f, backend) == dtype
    gs = _run(f, backend, *varargs)
    for g, e in zip(gs, np.gradient(f, *varargs), strict=True):
        assert g.dtype == dtype
        np.testing.assert_allclose(g, e, rtol=RTOL[dtype], atol=0)


def test_float32_data_with_float64_coords_stays_float32() -> None:
    """float32 f with float64 coordinates stays float32, as NumPy (SEMANTICS case 22)."""
    f = np.array([1.0, 2.0, 4.0, 7.0], dtype=np.float32)
    g = daskgrad.gradient(f, np.array([0.0, 1.0, 3.0, 4.0]))
    assert g.dtype == np.float32
    np.testing.assert_array_equal(g, np.array([1, 1, 2.3333332538604736, 3], dtype=np.float32))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    ("f", "varargs", "expected"),
    [
        pytest.param(np.array([5, 4, 3, 2, 1], np.uint8), (), [-1.0] * 5, id="case16-uint8"),
        pytest.param(np.array([-100, 0, 100], np.int8), (), [100.0] * 3, id="case16-int8"),
        pytest.param(
            np.array([-1, 127], np.int8), (np.array([1, 3]),), [64.0, 64.0], id="case17-int8"
        ),
        pytest.param(
            np.array([0.0, 2.0, 4.0]),
            (np.array([3, 2, 1], np.uint8),),
            [-2.0, -2.0, -2.0],
            id="case17-uint8-coords",
        ),
        pytest.param(
            np.array([True, False, True, True]), (), [-1.0, 0.0, 0.5, 0.0], id="case20-bool"
        ),
        pytest.param(
            np.array([1.0, 2.0, 4.0, 7.0], np.float16),
            (),
            [1.0, 1.5, 2.5, 3.0],
            id="case21-float16",
        ),
        pytest.param(
            np.array([1 + 1j, 2 + 4j, 4 + 9j]), (), [1 + 3j, 1.5 + 4j, 2 + 5j], id="case40-complex"
        ),
    ],
)
def test_conformance(backend: str, f: np.ndarray, varargs: tuple, expected: list) -> None:
    if backend == "dask" and f.shape[0] < 4:
        import dask.array as da

        with raise_if_dask_computes():
            g = daskgrad.gradient(da.from_array(f, chunks=1), *varargs)
        g = g.compute()
    else:
        g = _run(f, backend, *varargs)
    exp = np.array(expected, dtype=f.dtype if f.dtype.kind in "fc" else np.float64)
    assert g.dtype == exp.dtype
    np.testing.assert_array_equal(g, exp)


@pytest.mark.parametrize(
    "f",
    [
        pytest.param([1, 2, 4, 7], id="list-int"),
        pytest.param([[1.0, 2.0], [3.0, 5.0], [4.0, 4.0]], id="nested-list"),
        pytest.param((1.0, 2.0, 4.0), id="tuple"),
    ],
)
def test_array_likes_give_numpy(f: Any) -> None:
    out = daskgrad.gradient(f)
    expected = np.gradient(np.asarray(f, dtype=np.float64))
    outs = out if isinstance(out, tuple) else (out,)
    exps = expected if isinstance(expected, tuple) else (expected,)
    for o, e in zip(outs, exps, strict=True):
        assert type(o) is np.ndarray
        np.testing.assert_array_equal(o, e)


class _HasArray:
    """A minimal object exposing ``__array__`` (NumPy's array protocol)."""

    def __init__(self, values: list) -> None:
        self.values = values

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return np.asarray(self.values, dtype=dtype)


def test_array_protocol_object_gives_numpy() -> None:
    g = daskgrad.gradient(_HasArray([1, 2, 4, 7]), 0.5)
    assert type(g) is np.ndarray and g.dtype == np.float64
    np.testing.assert_array_equal(g, np.gradient(np.array([1.0, 2, 4, 7]), 0.5))


@requires_torch
@pytest.mark.parametrize("tdtype", ["float64", "float32", "int64", "uint8", "bool"])
def test_torch_tensor_input(tdtype: str) -> None:
    import torch

    t = torch.tensor([1, 0, 4, 7, 2]).to(getattr(torch, tdtype))
    g = daskgrad.gradient(t)
    assert type(g) is np.ndarray
    a = t.numpy()
    expected = np.gradient(a if a.dtype.kind == "f" else a.astype(np.float64))
    assert g.dtype == expected.dtype
    np.testing.assert_array_equal(g, expected)


def test_zero_size_non_differentiated_axis() -> None:
    """A zero-size axis that is not differentiated is not an error (NumPy: empty result)."""
    f = np.zeros((3, 0))
    g = daskgrad.gradient(f, axis=0)
    assert g.shape == (3, 0) and g.dtype == np.float64


@pytest.mark.parametrize("backend", BACKENDS)
def test_zero_dim_gives_empty_tuple(backend: str) -> None:
    f = np.array(3.0)
    if backend == "dask":
        import dask.array as da

        f = da.from_array(f)
    assert daskgrad.gradient(f) == ()
    assert daskgrad.gradient(np.ones((2, 3)), axis=()) == ()
