"""Torch form (``spacing=`` / ``dim=``): exactly ``torch.gradient``'s semantics.

Always a tuple; a scalar for every dim, one scalar per dim, or one 1-D coordinate
array per dim, and coordinates ALWAYS take the non-uniform formula (NumPy form
reduces evenly spaced coordinates to a scalar). Compared with ``torch.gradient``
on float64 tensors within rtol 1e-12 (torch's edge_order=2 uniform edges round
differently in the last ulp, SEMANTICS §2); the conformance cases of SEMANTICS §6
are checked value for value.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest

import daskgrad
from tests.helpers import has_dask, raise_if_dask_computes, requires_dask, requires_torch
from tests.oracles import coords, periodic_axis, torch_gradient

pytestmark = requires_torch

RTOL = 1e-12
SHAPES = {1: (7,), 2: (5, 6), 3: (4, 3, 5)}
DIMS = {1: (None, 0, (0,)), 2: (None, -1, (1, 0)), 3: (None, 1, (2, 0))}
CHUNKS = {1: ((1, 4, 2),), 2: ((2, 1, 2), (5, 1)), 3: ((1, 3), (3,), (2, 2, 1))}
SPACINGS = ("none", "scalar", "scalars", "coords", "coords_uniform", "tensor_coords")


def _dims(dim: Any, nd: int) -> tuple[int, ...]:
    if dim is None:
        return tuple(range(nd))
    return tuple(d % nd for d in ((dim,) if isinstance(dim, int) else dim))


def _spacing(kind: str, shape: tuple[int, ...], dims: tuple[int, ...]) -> Any:
    if kind == "none":
        return None
    if kind == "scalar":
        return 0.7
    if kind == "scalars":
        return [0.3 + i for i in range(len(dims))]
    form = "coords_uniform" if kind == "coords_uniform" else "coords_nonuniform"
    xs = [coords(form, shape[d], d) for d in dims]
    if kind == "tensor_coords":
        import torch

        return [torch.from_numpy(x) for x in xs]
    return xs


def _call(f: np.ndarray, backend: str, spacing: Any, dim: Any, edge_order: int) -> list:
    kw: dict[str, Any] = {"edge_order": edge_order}
    if spacing is not None:
        kw["spacing"] = spacing
    if dim is not None:
        kw["dim"] = dim
    if spacing is None and dim is None:
        kw["spacing"] = 1.0  # an explicit torch-form call
    if backend == "numpy":
        out = daskgrad.gradient(f, **kw)
        assert isinstance(out, tuple)
        return [np.asarray(o) for o in out]
    import dask.array as da

    fd = da.from_array(f, chunks=CHUNKS[f.ndim])
    with raise_if_dask_computes():
        out = daskgrad.gradient(fd, **kw)
    assert isinstance(out, tuple)
    assert all(o.chunks == fd.chunks for o in out)
    return [np.asarray(o) for o in da.compute(*out)]


CASES = [
    pytest.param(nd, dim, sp, eo, be, id=f"{nd}d-dim{dim}-{sp}-e{eo}-{be}".replace(" ", ""))
    for nd in SHAPES
    for dim, sp, eo, be in itertools.product(
        DIMS[nd], SPACINGS, (1, 2), ("numpy", "dask") if has_dask else ("numpy",)
    )
]


@pytest.mark.parametrize(("nd", "dim", "spacing", "edge_order", "backend"), CASES)
def test_against_torch(nd: int, dim: Any, spacing: str, edge_order: int, backend: str) -> None:
    shape = SHAPES[nd]
    f = np.random.default_rng(nd).standard_normal(shape)
    dims = _dims(dim, nd)
    sp = _spacing(spacing, shape, dims)
    got = _call(f, backend, sp, dim, edge_order)
    expected = torch_gradient(f, spacing=1.0 if sp is None else sp, dim=dim, edge_order=edge_order)
    assert len(got) == len(expected) == len(dims)
    for g, e in zip(got, expected, strict=True):
        assert g.dtype == np.float64
        np.testing.assert_allclose(g, e, rtol=RTOL, atol=0)


@requires_dask
@pytest.mark.parametrize("edge_order", [1, 2])
def test_lazy_dask_coordinates(edge_order: int) -> None:
    import dask.array as da

    f = np.random.default_rng(0).standard_normal((6, 5))
    x0, x1 = coords("coords_nonuniform", 6, 0), coords("non_monotonic", 5, 1)
    fd = da.from_array(f, chunks=(4, 2))
    with raise_if_dask_computes():
        out = daskgrad.gradient(
            fd,
            spacing=[da.from_array(x0, chunks=3), da.from_array(x1, chunks=2)],
            edge_order=edge_order,
        )
    expected = torch_gradient(f, spacing=[x0, x1], edge_order=edge_order)
    for g, e in zip(da.compute(*out), expected, strict=True):
        np.testing.assert_allclose(g, e, rtol=RTOL, atol=0)


def test_torch_tensor_input_gives_numpy() -> None:
    import torch

    t = torch.tensor([[1.0, 2.0, 4.0, 8.0], [10.0, 20.0, 40.0, 80.0]], dtype=torch.float64)
    out = daskgrad.gradient(t, spacing=2.0)
    assert isinstance(out, tuple) and all(type(o) is np.ndarray for o in out)
    for g, e in zip(out, torch.gradient(t, spacing=2.0), strict=True):
        np.testing.assert_array_equal(g, e.numpy())
    g = daskgrad.gradient(t[0])  # NumPy form on a tensor
    assert type(g) is np.ndarray
    np.testing.assert_array_equal(g, [1.0, 1.5, 3.0, 4.0])


@pytest.mark.parametrize(
    ("f", "kwargs", "n"),
    [
        ([1.0, 2.0, 4.0], {"spacing": 1.0}, 1),
        ([1.0, 2.0, 4.0], {"dim": 0}, 1),
        ([1.0, 2.0, 4.0], {"dim": (0,)}, 1),
        ([[1.0, 2.0], [3.0, 5.0]], {"dim": 1}, 1),
        ([[1.0, 2.0], [3.0, 5.0]], {"spacing": [1.0, 2.0]}, 2),
        ([[1.0, 2.0], [3.0, 5.0]], {"dim": ()}, 0),
        (3.0, {"spacing": 1.0}, 0),
    ],
)
def test_always_a_tuple(f: Any, kwargs: dict, n: int) -> None:
    out = daskgrad.gradient(np.asarray(f), **kwargs)
    assert isinstance(out, tuple)
    assert len(out) == n


# SEMANTICS §6, torch cases (float64: the exact values numpy/torch float64 give)
T12 = [[1.0, 2.0, 4.0, 8.0], [10.0, 20.0, 40.0, 80.0]]


@pytest.mark.parametrize(
    ("f", "kwargs", "expected"),
    [
        pytest.param(
            np.array([-1.0, -2.0, 3.0, 4.0]) ** 3,
            {"dim": 0},
            [[-7.0, 14.0, 36.0, 37.0]],
            id="case8",
        ),
        pytest.param(
            np.array([-1.0, -2.0, 3.0, 4.0]) ** 3,
            {"dim": 0, "edge_order": 2},
            [[-28.0, 14.0, 36.0, 38.0]],
            id="case8-e2",
        ),
        pytest.param(
            np.array([-1.0, -2.0, 3.0, 4.0]) ** 3,
            {"spacing": [np.array([-1.0, -2.0, 3.0, 4.0])]},
            [[7.0, 7.0, 32.0, 37.0]],
            id="case9",
        ),
        pytest.param(
            np.array([-1.0, -2.0, 3.0, 4.0]) ** 3,
            {"spacing": [np.array([-1.0, -2.0, 3.0, 4.0])], "edge_order": 2},
            [[7.0, 7.0, 32.0, 42.00000000000001]],
            id="case9-e2",
        ),
        pytest.param(
            np.array([[1.0, 2.0], [3.0, 4.0]]) ** 3,
            {"dim": 0},
            [[[26.0, 56.0], [26.0, 56.0]]],
            id="case10-dim0",
        ),
        pytest.param(
            np.array([[1.0, 2.0], [3.0, 4.0]]) ** 3,
            {"dim": 1},
            [[[7.0, 7.0], [37.0, 37.0]]],
            id="case10-dim1",
        ),
        pytest.param(
            np.array([[1.0, 2.0], [3.0, 4.0]]) ** 3,
            {"spacing": 1.0},
            [[[26.0, 56.0], [26.0, 56.0]], [[7.0, 7.0], [37.0, 37.0]]],
            id="case10-all",
        ),
        pytest.param(
            np.array([4.0, 1.0, 1.0, 16.0]),
            {"spacing": [np.array([-2.0, -1.0, 1.0, 4.0])]},
            [[-3.0, -1.9999999999999998, 2.0, 5.0]],
            id="case11-float64",
        ),
        pytest.param(
            np.array(T12),
            {"spacing": 2.0},
            [[[4.5, 9.0, 18.0, 36.0]] * 2, [[0.5, 0.75, 1.5, 2.0], [5.0, 7.5, 15.0, 20.0]]],
            id="case12",
        ),
        pytest.param(
            np.array(T12),
            {"spacing": [3.0, 2.0]},
            [[[3.0, 6.0, 12.0, 24.0]] * 2, [[0.5, 0.75, 1.5, 2.0], [5.0, 7.5, 15.0, 20.0]]],
            id="case13",
        ),
        pytest.param(
            np.array([[1.0, 1.0], [3.0, 4.0]]),
            {"spacing": [2.0, 3.0], "dim": (1, 0)},
            [[[0.0, 0.0], [0.5, 0.5]], [[2 / 3, 1.0], [2 / 3, 1.0]]],
            id="case15",
        ),
        pytest.param(
            np.array([0.0, 1.0, np.nan, 3.0, 4.0]),
            {"spacing": [np.arange(5.0)]},
            [[1.0, np.nan, np.nan, np.nan, 1.0]],
            id="case25-coords-nan",
        ),
        pytest.param(
            np.array([1.0, 2.0, 3.0]),
            {"spacing": [np.array([1.0, 1.0, 1.0])]},
            [[np.inf, np.nan, np.inf]],
            id="case28-equal-coords",
        ),
        pytest.param(
            np.array([1.0, 2.0, 2.0]),
            {"spacing": 0.0},
            [[np.inf, np.inf, np.nan]],
            id="case28-zero-spacing",
        ),
    ],
)
def test_conformance(f: np.ndarray, kwargs: dict, expected: list) -> None:
    with np.errstate(divide="ignore", invalid="ignore"):
        out = daskgrad.gradient(f, **kwargs)
    assert isinstance(out, tuple) and len(out) == len(expected)
    for g, e in zip(out, expected, strict=True):
        np.testing.assert_array_equal(g, np.array(e))


def test_case14_coordinate_tensors_float64() -> None:
    """Case 14 in float64 (the SEMANTICS reprs are torch float32)."""
    import torch

    xs = [np.array([0.0, 2.0]), np.array([0.0, 3.0, 6.0, 9.0])]
    out = daskgrad.gradient(np.array(T12), spacing=xs)
    exp = torch.gradient(
        torch.tensor(T12, dtype=torch.float64), spacing=[torch.from_numpy(x) for x in xs]
    )
    for g, e in zip(out, exp, strict=True):
        np.testing.assert_allclose(g, e.numpy(), rtol=RTOL, atol=0)
    np.testing.assert_allclose(out[1][0], [1 / 3, 0.5, 1.0, 4 / 3], rtol=RTOL)


def test_coordinates_always_nonuniform_but_numpy_form_reduces() -> None:
    """The same evenly spaced coordinates: NumPy form takes the uniform path (NaN
    at i stays out of g[i]); torch form the non-uniform one (g[i] is NaN)."""
    f, x = np.array([0.0, 1.0, np.nan, 3.0, 4.0]), np.arange(5.0)
    np.testing.assert_array_equal(daskgrad.gradient(f, x), [1.0, np.nan, 1.0, np.nan, 1.0])
    (g,) = daskgrad.gradient(f, spacing=[x])
    np.testing.assert_array_equal(g, [1.0, np.nan, np.nan, np.nan, 1.0])


@requires_dask
def test_coordinates_always_nonuniform_on_dask() -> None:
    import dask.array as da

    f, x = np.array([0.0, 1.0, np.nan, 3.0, 4.0, 5.0]), np.arange(6.0)
    fd = da.from_array(f, chunks=2)
    (g,) = daskgrad.gradient(fd, spacing=[x])
    np.testing.assert_array_equal(g.compute(), [1.0, np.nan, np.nan, np.nan, 1.0, 1.0])
    np.testing.assert_array_equal(daskgrad.gradient(fd, x).compute(), np.gradient(f, x))


@pytest.mark.parametrize("backend", ["numpy", pytest.param("dask", marks=requires_dask)])
def test_torch_form_periodic_uses_nonuniform_formula(backend: str) -> None:
    f = np.random.default_rng(1).standard_normal(8)
    x = 0.1 * np.arange(8.0)
    fa = f
    if backend == "dask":
        import dask.array as da

        fa = da.from_array(f, chunks=3)
    (g,) = daskgrad.gradient(fa, spacing=[x], boundary="periodic", period=0.8)
    expected = periodic_axis(f, 0, x, 0.8, reduce_uniform=False)
    g = g.compute() if backend == "dask" else g  # array-expr mode: no np.asarray(lazy)
    np.testing.assert_allclose(np.asarray(g), expected, rtol=RTOL, atol=0)
