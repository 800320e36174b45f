"""Hypothesis property tests over random shapes (≤ 3 dims, ≤ 12 points per dim),
chunks (any partition, size 1 included), axes, spacings (scalars, increasing /
decreasing / zig-zag coordinates, NumPy or lazy Dask), edge orders and per-axis
boundaries. Example counts come from the settings profiles in ``conftest.py``.

- Dask results equal NumPy-input results bit for bit, whatever the chunking;
- non-periodic axes equal ``numpy.gradient`` bit for bit, periodic axes equal the
  ``np.roll`` reference (rtol 1e-12);
- a call fails (ValueError, at call time) exactly when a non-periodic
  differentiated axis is shorter than ``edge_order + 1``;
- the torch form equals ``torch.gradient`` (rtol 1e-12).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

import daskgrad
from tests.helpers import has_dask, raise_if_dask_computes, requires_dask, requires_torch
from tests.oracles import reference_gradient, torch_gradient

MAX_N = 12


@st.composite
def partitions(draw: st.DrawFn, n: int) -> tuple[int, ...]:
    """A random chunking of an axis of length ``n`` (flox's ``chunked_arrays`` idea)."""
    if n == 0:
        return (0,)
    cuts = draw(st.sets(st.integers(1, n - 1), max_size=n - 1)) if n > 1 else set()
    edges = [0, *sorted(cuts), n]
    return tuple(b - a for a, b in zip(edges[:-1], edges[1:], strict=True))


@st.composite
def coordinates(draw: st.DrawFn, n: int, kind: str) -> np.ndarray:
    steps = np.array(draw(st.lists(st.floats(0.25, 4.0), min_size=n, max_size=n)))
    if kind == "decreasing":
        steps = -steps
    elif kind == "zigzag":
        steps = np.where(np.arange(n) % 2 == 1, -0.5 * steps, steps)
    x = np.cumsum(steps) + draw(st.floats(-10, 10))
    d = np.diff(x)
    assume((d != 0).all() and (d[1:] + d[:-1] != 0).all())
    return x


@dataclass
class Problem:
    f: np.ndarray
    chunks: tuple[tuple[int, ...], ...]
    axis: Any
    axes: tuple[int, ...]
    spacings: list[Any]
    periodic: list[bool]
    periods: list[Any]
    edge_order: int

    def boundary(self) -> dict[int, str]:
        return {ax: "periodic" for ax, p in zip(self.axes, self.periodic, strict=True) if p}

    def period(self) -> dict[int, float] | None:
        out = {ax: p for ax, p in zip(self.axes, self.periods, strict=True) if p is not None}
        return out or None

    def should_fail(self) -> bool:
        return any(
            not per and self.f.shape[ax] < self.edge_order + 1
            for ax, per in zip(self.axes, self.periodic, strict=True)
        )


@st.composite
def problems(draw: st.DrawFn, min_size: int = 1) -> Problem:
    shape = tuple(draw(st.lists(st.integers(min_size, MAX_N), min_size=1, max_size=3)))
    nd = len(shape)
    f = np.random.default_rng(draw(st.integers(0, 2**16))).standard_normal(shape)
    chunks = tuple(draw(partitions(n)) for n in shape)
    axis = draw(
        st.one_of(
            st.none(),
            st.integers(-nd, nd - 1),
            st.permutations(range(nd)).flatmap(lambda p: st.integers(1, nd).map(lambda k: p[:k])),
        )
    )
    if axis is None:
        axes = tuple(range(nd))
    elif isinstance(axis, int):
        axes = (axis % nd,)
    else:
        axes = tuple(axis)
    edge_order = draw(st.sampled_from([1, 2]))
    spacings, periodic, periods = [], [], []
    for ax in axes:
        per = draw(st.booleans())
        kinds = (
            ["scalar", "increasing"] if per else ["scalar", "increasing", "decreasing", "zigzag"]
        )
        kind = draw(st.sampled_from(kinds)) if shape[ax] > 1 else "scalar"
        if kind == "scalar":
            sp: Any = draw(st.sampled_from([1.0, 0.5, 0.7, -1.3, 3.0]))
        else:
            sp = draw(coordinates(shape[ax], kind))
        spacings.append(sp)
        periodic.append(per)
        periods.append(
            float(sp[-1] - sp[0]) + draw(st.floats(0.25, 4.0)) if per and np.ndim(sp) else None
        )
    return Problem(f, chunks, axis, axes, spacings, periodic, periods, edge_order)


def _call(p: Problem, f: Any, spacings: list[Any]) -> list[np.ndarray] | Any:
    out = daskgrad.gradient(
        f,
        *spacings,
        axis=p.axis,
        edge_order=p.edge_order,
        boundary=p.boundary() or "none",
        period=p.period(),
    )
    if len(p.axes) == 1:
        assert not isinstance(out, tuple)
        return [out]
    assert isinstance(out, tuple) and len(out) == len(p.axes)
    return list(out)


def _check_against_references(p: Problem, got: list[np.ndarray]) -> None:
    expected = reference_gradient(
        p.f, p.spacings, p.axes, edge_order=p.edge_order, periodic=p.periodic, periods=p.periods
    )
    for g, e, per in zip(got, expected, p.periodic, strict=True):
        assert g.dtype == np.float64 and g.shape == p.f.shape
        if per:
            np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-300)
        else:
            np.testing.assert_array_equal(g, e)


@given(problems())
def test_numpy_input_matches_references(p: Problem) -> None:
    if p.should_fail():
        with pytest.raises(ValueError, match="edge_order|point"):
            _call(p, p.f, p.spacings)
        return
    got = _call(p, p.f, p.spacings)
    _check_against_references(p, [np.asarray(g) for g in got])


@requires_dask
@given(problems(), st.booleans())
def test_dask_matches_numpy_bit_for_bit(p: Problem, lazy_coords: bool) -> None:
    import dask.array as da

    fd = da.from_array(p.f, chunks=p.chunks)
    spacings = [
        da.from_array(s, chunks=p.chunks[ax]) if lazy_coords and np.ndim(s) else s
        for s, ax in zip(p.spacings, p.axes, strict=True)
    ]
    if p.should_fail():
        with raise_if_dask_computes(), pytest.raises(ValueError, match="edge_order|point"):
            _call(p, fd, spacings)
        return
    with raise_if_dask_computes():
        lazy = _call(p, fd, spacings)
    for g in lazy:
        assert isinstance(g, da.Array) and g.chunks == fd.chunks
    got = [np.asarray(g) for g in da.compute(*lazy)]
    in_memory = [np.asarray(g) for g in _call(p, p.f, p.spacings)]
    for g, m in zip(got, in_memory, strict=True):
        np.testing.assert_array_equal(g, m)
    _check_against_references(p, got)


_TORCH_EXAMPLE = Problem(  # coordinates of different lengths, given explicitly
    f=np.arange(12.0).reshape(3, 4) ** 2,
    chunks=((3,), (4,)),
    axis=None,
    axes=(0, 1),
    spacings=[np.array([0.0, 1.0, 3.0]), np.array([0.0, 0.5, 2.0, 2.5])],
    periodic=[False, False],
    periods=[None, None],
    edge_order=2,
)


@requires_torch
@given(problems(min_size=3))
@example(_TORCH_EXAMPLE)
def test_torch_form_matches_torch(p: Problem) -> None:
    spacing = list(p.spacings)
    if len({np.ndim(s) for s in spacing}) > 1:  # torch never mixes numbers and tensors
        spacing = [s if np.ndim(s) == 0 else 1.0 for s in spacing]
    dim = p.axis
    kw = {"spacing": spacing, "edge_order": p.edge_order}
    if dim is not None:
        kw["dim"] = dim
    out = daskgrad.gradient(p.f, **kw)
    assert isinstance(out, tuple)
    expected = torch_gradient(p.f, spacing=spacing, dim=dim, edge_order=p.edge_order)
    assert len(out) == len(expected)
    for g, e in zip(out, expected, strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-300)


@requires_dask
@given(st.integers(1, MAX_N).flatmap(lambda n: st.tuples(st.just(n), partitions(n))))
def test_periodic_uniform_matches_roll_any_chunking(arg: tuple[int, tuple[int, ...]]) -> None:
    import dask.array as da

    n, chunks = arg
    f = np.cos(np.arange(n) * 0.9) + np.arange(n) * 0.01
    g = daskgrad.gradient(
        da.from_array(f, chunks=(chunks,)), 0.3, boundary="periodic", edge_order=2
    )
    expected = (np.roll(f, -1) - np.roll(f, 1)) / (2 * 0.3)
    np.testing.assert_array_equal(g.compute(), expected)


def test_has_dask_for_properties() -> None:
    """Keep the Dask properties visible when dask is missing."""
    if not has_dask:
        pytest.skip("dask not installed: Dask properties skipped")


@st.composite
def periodic_coordinate_problems(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, float, tuple]:
    n = draw(st.integers(1, MAX_N))
    x = draw(coordinates(n, "increasing")) if n > 1 else np.array([draw(st.floats(-5, 5))])
    period = float(x[-1] - x[0]) + draw(st.floats(0.25, 4.0))
    f = np.random.default_rng(draw(st.integers(0, 2**16))).standard_normal(n)
    return f, x, period, draw(partitions(n))


@given(periodic_coordinate_problems())
def test_periodic_decreasing_coordinates_mirror_increasing(arg: tuple) -> None:
    """Reversing f and x on a periodic axis reverses the derivative. (DESIGN §2 writes
    the seam as ``x[0] + period - x[-1]``, which only makes sense for increasing x;
    for decreasing x the implementation documents ``x[0] - period - x[-1]``: this is
    the property that choice must satisfy.)"""
    f, x, period, _ = arg
    inc = daskgrad.gradient(f, x, boundary="periodic", period=period)
    dec = daskgrad.gradient(f[::-1], x[::-1], boundary="periodic", period=period)
    np.testing.assert_allclose(dec[::-1], inc, rtol=1e-12, atol=1e-12)


@requires_dask
@given(periodic_coordinate_problems(), st.booleans())
def test_periodic_coordinates_any_chunking(arg: tuple, lazy_coords: bool) -> None:
    import dask.array as da

    f, x, period, chunks = arg
    xc = da.from_array(x, chunks=(chunks,)) if lazy_coords else x
    with raise_if_dask_computes():
        g = daskgrad.gradient(
            da.from_array(f, chunks=(chunks,)), xc, boundary="periodic", period=period, edge_order=2
        )
    assert g.chunks == (chunks,)
    np.testing.assert_array_equal(
        g.compute(), daskgrad.gradient(f, x, boundary="periodic", period=period)
    )
    np.testing.assert_allclose(
        g.compute(),
        reference_gradient(f, [x], [0], periodic=[True], periods=[period])[0],
        rtol=1e-12,
        atol=1e-300,
    )
