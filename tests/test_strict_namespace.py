"""The reference kernel is backend-agnostic: run on ``array_api_strict`` arrays
(a namespace that refuses everything outside the array API standard -- what CuPy
will see on a GPU), it returns ``array_api_strict`` arrays equal, bit for bit, to
``numpy.gradient``: whole arrays, blocks with neighbour faces (1 or 2 planes, as
the chunked layer passes them), uniform ``h`` and non-uniform ``dx``, edge orders
1 and 2, periodic wrap, float32/float64/complex128.

Interface (``daskgrad/kernels/_spec.py``): ``reference_gradient_block(f, specs,
dtype)`` with ``AxisSpec(axis, edge_order, h=None, dx=None, lo=None, hi=None)``.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest

from daskgrad.kernels import AxisSpec, reference_gradient_block
from tests.oracles import periodic_axis

xp = pytest.importorskip("array_api_strict")

SHAPES = [(9,), (6, 5), (4, 3, 5)]


def _strict(a: np.ndarray) -> Any:
    return xp.asarray(a)


def _coords(n: int) -> np.ndarray:
    return np.cumsum(np.random.default_rng(n).uniform(0.3, 1.7, n))


def _take(a: np.ndarray, axis: int, start: int, stop: int) -> np.ndarray:
    key: list[Any] = [slice(None)] * a.ndim
    key[axis] = slice(start, stop)
    return a[tuple(key)]


def _check(result: Any, expected: np.ndarray, dtype: Any) -> None:
    assert type(result).__module__.startswith("array_api_strict"), type(result)
    assert result.dtype == dtype
    np.testing.assert_array_equal(np.asarray(result), expected)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("edge_order", [1, 2])
@pytest.mark.parametrize("spacing", ["h", "dx"])
def test_whole_array_all_axes(shape: tuple[int, ...], edge_order: int, spacing: str) -> None:
    f = np.random.default_rng(0).standard_normal(shape)
    xs = [_coords(n) for n in shape]
    specs = tuple(
        AxisSpec(ax, edge_order, h=0.7)
        if spacing == "h"
        else AxisSpec(ax, edge_order, dx=_strict(np.diff(xs[ax])))
        for ax in range(len(shape))
    )
    out = reference_gradient_block(_strict(f), specs, xp.float64)
    varargs = [0.7] * len(shape) if spacing == "h" else xs
    expected = np.gradient(f, *varargs, edge_order=edge_order)
    expected = expected if isinstance(expected, tuple) else (expected,)
    assert len(out) == len(shape)
    for o, e in zip(out, expected, strict=True):
        _check(o, e, xp.float64)


@pytest.mark.parametrize(
    ("np_dtype", "xp_dtype"),
    [(np.float32, "float32"), (np.complex128, "complex128")],
)
def test_other_dtypes(np_dtype: Any, xp_dtype: str) -> None:
    rng = np.random.default_rng(1)
    f = rng.standard_normal((5, 4))
    if np.dtype(np_dtype).kind == "c":
        f = f + 1j * rng.standard_normal((5, 4))
    f = f.astype(np_dtype)
    dtype = getattr(xp, xp_dtype)
    specs = (AxisSpec(0, 2, h=2.0), AxisSpec(1, 1, h=0.5))
    out = reference_gradient_block(_strict(f), specs, dtype)
    assert all(o.dtype == dtype for o in out)
    np.testing.assert_array_equal(np.asarray(out[1]), np.gradient(f, 0.5, axis=1))
    np.testing.assert_array_equal(np.asarray(out[0]), np.gradient(f, 2.0, axis=0, edge_order=2))


def _faces(n: int, bounds: list[int], b: int, edge_order: int, two: bool) -> tuple[int, int]:
    """Planes before/after block ``b`` (0 at a domain edge), as the chunked layer
    gives them: 1, or 2 where an end block of size 1 needs them for edge_order 2
    (``two``: 2 wherever the array has them)."""
    start, stop = bounds[b], bounds[b + 1]
    last = len(bounds) - 2
    n_lo = (
        0 if b == 0 else (2 if two or (edge_order == 2 and b == last and stop - start == 1) else 1)
    )
    n_hi = (
        0 if b == last else (2 if two or (edge_order == 2 and b == 0 and stop - start == 1) else 1)
    )
    return min(n_lo, start), min(n_hi, n - stop)


CHUNKINGS = [(1, 4, 4), (4, 4, 1), (2, 3, 4), (1, 1, 1, 1, 1, 1, 1, 1, 1), (9,)]


@pytest.mark.parametrize(
    ("chunks", "edge_order", "spacing", "two"),
    list(itertools.product(CHUNKINGS, [1, 2], ["h", "dx"], [False, True])),
)
def test_blocks_with_faces(
    chunks: tuple[int, ...], edge_order: int, spacing: str, two: bool
) -> None:
    """Blocks along axis 1 of a (3, 9) array, each with its neighbours' faces."""
    f = np.random.default_rng(2).standard_normal((3, 9))
    x = _coords(9)
    bounds = list(np.cumsum((0, *chunks)))
    pieces = []
    for b in range(len(chunks)):
        start, stop = bounds[b], bounds[b + 1]
        n_lo, n_hi = _faces(9, bounds, b, edge_order, two)
        lo = _strict(_take(f, 1, start - n_lo, start)) if n_lo else None
        hi = _strict(_take(f, 1, stop, stop + n_hi)) if n_hi else None
        if spacing == "h":
            spec = AxisSpec(1, edge_order, h=0.3, lo=lo, hi=hi)
        else:
            dx = _strict(np.diff(x[start - n_lo : stop + n_hi]))
            spec = AxisSpec(1, edge_order, dx=dx, lo=lo, hi=hi)
        (out,) = reference_gradient_block(_strict(_take(f, 1, start, stop)), (spec,), xp.float64)
        assert type(out).__module__.startswith("array_api_strict")
        pieces.append(np.asarray(out))
    got = np.concatenate(pieces, axis=1)
    expected = np.gradient(f, 0.3 if spacing == "h" else x, axis=1, edge_order=edge_order)
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("chunks", [(9,), (1, 4, 4), (3, 3, 3), (1,) * 9])
@pytest.mark.parametrize("spacing", ["h", "dx"])
def test_periodic_faces(chunks: tuple[int, ...], spacing: str) -> None:
    """Periodic: the first block's ``lo`` is the last plane, the last block's ``hi``
    the first; ``dx`` carries the seam step ``x[0] + period - x[-1]``."""
    f = np.random.default_rng(3).standard_normal((9, 2))
    x, period = _coords(9), 14.0
    ext_x = np.concatenate([[x[-1] - period], x, [x[0] + period]])
    ext_dx = np.diff(ext_x)
    ext_dx[0] = ext_dx[-1] = x[0] + period - x[-1]
    bounds = list(np.cumsum((0, *chunks)))
    pieces = []
    for b in range(len(chunks)):
        start, stop = bounds[b], bounds[b + 1]
        lo = f[start - 1 : start] if start > 0 else f[-1:]
        hi = f[stop : stop + 1] if stop < 9 else f[:1]
        if spacing == "h":
            spec = AxisSpec(0, 1, h=0.3, lo=_strict(lo), hi=_strict(hi))
        else:
            spec = AxisSpec(
                0, 2, dx=_strict(ext_dx[start : stop + 1]), lo=_strict(lo), hi=_strict(hi)
            )
        (out,) = reference_gradient_block(_strict(f[start:stop]), (spec,), xp.float64)
        pieces.append(np.asarray(out))
    got = np.concatenate(pieces, axis=0)
    expected = periodic_axis(f, 0, 0.3 if spacing == "h" else x, period)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=0)


def test_strict_namespace_refuses_numpy_extras() -> None:
    """Sanity: the namespace really is strict (no ``gradient``, no mixing with NumPy)."""
    assert not hasattr(xp, "gradient")
    with pytest.raises(TypeError):
        _strict(np.ones(3)) + np.ones(3)
