"""Dask in, lazy Dask out: building the graph computes nothing (lazy Dask
coordinates included), output chunks equal input chunks, the graph stays small,
and graph keys are deterministic and never collide between different calls.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

import daskgrad
from daskgrad._compat import dask_array_expr_enabled
from tests.helpers import raise_if_dask_computes, requires_dask
from tests.oracles import periodic_axis

pytestmark = requires_dask

SHAPE = (6, 5)
CHUNKS = ((1, 2, 3), (4, 1))


@pytest.fixture
def data() -> np.ndarray:
    return np.random.default_rng(3).standard_normal(SHAPE)


def _lazy(values: np.ndarray, chunks: Any) -> Any:
    import dask.array as da

    return da.from_array(values, chunks=chunks)


def _coords() -> tuple[np.ndarray, np.ndarray]:
    return np.array([0.0, 0.5, 1.7, 2.0, 3.5, 4.1]), np.array([-1.0, -2.0, 3.0, 4.0, 4.5])


def _keys_of(arr: Any) -> set:
    return {k[0] if isinstance(k, tuple) else k for k in dict(arr.__dask_graph__())}


def _check_lazy(result: Any, f: Any, n: int) -> tuple:
    import dask.array as da

    result = result if isinstance(result, tuple) else (result,)
    assert len(result) == n
    for r in result:
        assert isinstance(r, da.Array)
        assert r.chunks == f.chunks
        assert type(r._meta) is np.ndarray
    return result


@pytest.mark.parametrize("edge_order", [1, 2])
@pytest.mark.parametrize(
    "form", ["none", "scalars", "numpy-coords", "dask-coords", "dask-coords-other-chunks"]
)
def test_numpy_form_builds_without_computing(data, form: str, edge_order: int) -> None:
    f = _lazy(data, CHUNKS)
    x0, x1 = _coords()
    varargs: tuple = {
        "none": (),
        "scalars": (0.3, 2.0),
        "numpy-coords": (x0, x1),
        "dask-coords": (_lazy(x0, CHUNKS[0]), _lazy(x1, CHUNKS[1])),
        "dask-coords-other-chunks": (_lazy(x0, 4), _lazy(x1, 1)),
    }[form]
    with raise_if_dask_computes():
        result = daskgrad.gradient(f, *varargs, edge_order=edge_order)
    result = _check_lazy(result, f, 2)
    with raise_if_dask_computes(max_computes=1):
        import dask

        got = dask.compute(*result)
    spacing = (x0, x1) if "coords" in form else varargs
    expected = np.gradient(data, *spacing, edge_order=edge_order)
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-12, atol=0)


def test_periodic_dask_coordinates_stay_lazy(data) -> None:
    f = _lazy(data, CHUNKS)
    x0, x1 = _coords()
    lx0 = _lazy(x0, 2)
    with raise_if_dask_computes():
        g0, g1 = daskgrad.gradient(f, lx0, 1.5, boundary={0: "periodic"}, period=7.0)
    _check_lazy((g0, g1), f, 2)
    assert lx0.name in _keys_of(g0), "the Dask coordinate must be part of the result's graph"
    np.testing.assert_allclose(g0.compute(), periodic_axis(data, 0, x0, 7.0), rtol=1e-12)
    np.testing.assert_array_equal(g1.compute(), np.gradient(data, 1.5, axis=1))


def test_dask_coordinates_are_dependencies_not_values(data) -> None:
    f = _lazy(data, CHUNKS)
    x0, x1 = _coords()
    lx0, lx1 = _lazy(x0, 3), _lazy(x1, 5)
    with raise_if_dask_computes():
        g0, g1 = daskgrad.gradient(f, lx0, lx1, edge_order=2)
    assert lx0.name in _keys_of(g0)
    assert lx1.name in _keys_of(g1)


@pytest.mark.parametrize("spacing", ["scalar", "scalars", "dask-coords"])
def test_torch_form_builds_without_computing(data, spacing: str) -> None:
    f = _lazy(data, CHUNKS)
    x0, x1 = _coords()
    sp = {
        "scalar": 2.0,
        "scalars": [2.0, 0.5],
        "dask-coords": [_lazy(x0, 2), _lazy(x1, 2)],
    }[spacing]
    with raise_if_dask_computes():
        result = daskgrad.gradient(f, spacing=sp, dim=(0, 1))
    assert isinstance(result, tuple)
    _check_lazy(result, f, 2)


def test_single_axis_is_one_lazy_array(data) -> None:
    import dask.array as da

    f = _lazy(data, CHUNKS)
    with raise_if_dask_computes():
        g = daskgrad.gradient(f, axis=-1)
    assert isinstance(g, da.Array)
    assert g.chunks == f.chunks


@pytest.mark.parametrize("edge_order", [1, 2])
def test_size_one_chunks_everywhere_lazy(edge_order: int) -> None:
    """dask.array.gradient refuses these chunks; daskgrad keeps them, lazily."""
    data = np.random.default_rng(5).standard_normal((5, 4, 3))
    f = _lazy(data, 1)
    with raise_if_dask_computes():
        gs = daskgrad.gradient(f, edge_order=edge_order)
    gs = _check_lazy(gs, f, 3)
    for g, e in zip(gs, np.gradient(data, edge_order=edge_order), strict=True):
        np.testing.assert_array_equal(g.compute(), e)


def test_deterministic_keys(data) -> None:
    """Same call, same graph keys (dask's ``same_keys``)."""
    f = _lazy(data, CHUNKS)
    x0, _ = _coords()
    a = daskgrad.gradient(f, x0, 2.0, edge_order=2)
    b = daskgrad.gradient(f, x0, 2.0, edge_order=2)
    assert [r.name for r in a] == [r.name for r in b]


@pytest.mark.parametrize(
    ("kw1", "kw2"),
    [
        ({"edge_order": 1}, {"edge_order": 2}),
        ({"spacing": 1.0}, {"spacing": 2.0}),
        ({"boundary": "none"}, {"boundary": "periodic"}),
        ({"axis": 0}, {"axis": 1}),
        ({"coords": [0.0, 1.0, 3.0, 4.0, 7.0, 8.0]}, {"coords": [0.0, 1.0, 3.0, 5.0, 7.0, 8.0]}),
    ],
)
def test_different_calls_never_share_keys(data, kw1: dict, kw2: dict) -> None:
    """Two different gradients of the same array computed together stay right
    (colliding overlap keys were dask#3633/#3634)."""
    import dask

    f = _lazy(data, CHUNKS)

    def call(kw: dict) -> tuple[Any, np.ndarray]:
        kw = dict(kw)
        sp = kw.pop("spacing", None)
        x = kw.pop("coords", None)
        varargs = (np.asarray(x),) if x is not None else ((sp,) if sp is not None else ())
        kw.setdefault("axis", 0)
        lazy = daskgrad.gradient(f, *varargs, **kw)
        if kw.get("boundary") == "periodic":
            ref = periodic_axis(data, kw["axis"], sp if sp is not None else 1.0)
        else:
            ref = np.gradient(data, *varargs, axis=kw["axis"], edge_order=kw.get("edge_order", 1))
        return lazy, ref

    (l1, r1), (l2, r2) = call(kw1), call(kw2)
    assert l1.name != l2.name
    g1, g2 = dask.compute(l1, l2)
    np.testing.assert_allclose(g1, r1, rtol=1e-12, atol=0)
    np.testing.assert_allclose(g2, r2, rtol=1e-12, atol=0)


def _tasks(arr: Any) -> int:
    return len(dict(arr.__dask_graph__()))


def _three_axes() -> tuple[Any, Any, int]:
    """``f`` (8x8x8 in chunks of 4), the task count of ``daskgrad.gradient(f)``, and
    that of ``f`` itself."""
    import dask
    import dask.array as da

    f = da.from_array(np.zeros((8, 8, 8)), chunks=4)
    with raise_if_dask_computes():
        ours = daskgrad.gradient(f)
    return f, len(dict(dask.base.collections_to_expr(list(ours)).__dask_graph__())), _tasks(f)


def test_graph_is_small_three_axes() -> None:
    """DESIGN §5: at most 8 tasks per chunk for 3 axes."""
    f, n_ours, n_f = _three_axes()
    per_chunk = (n_ours - n_f) / math.prod(f.numblocks)  # array-expr mode: no .npartitions
    assert per_chunk <= 8, per_chunk


def test_graph_smaller_than_dask_gradient() -> None:
    """DESIGN §5: fewer tasks than dask.array.gradient (~15-18 per chunk for 3 axes)."""
    import dask
    import dask.array as da

    if dask_array_expr_enabled():
        pytest.skip("dask's array-expr mode (DASK_ARRAY__QUERY_PLANNING=True) has no da.gradient")
    f, n_ours, _ = _three_axes()
    theirs = da.gradient(f)
    n_theirs = len(dict(dask.base.collections_to_expr(list(theirs)).__dask_graph__()))
    assert n_ours < n_theirs
