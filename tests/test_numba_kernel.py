"""The fused numba kernel == the reference kernel == numpy.gradient, bit for bit.

Blocks with faces are cut out of a whole array: the derivative of the block with
its faces must equal numpy.gradient of the whole array at the block's points.
"""

from __future__ import annotations

import itertools
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from daskgrad.kernels import AxisSpec, gradient_block, reference_gradient_block

from .helpers import requires_numba

pytestmark = requires_numba

SHAPE = (5, 4, 6, 3)
DTYPES = [np.float64, np.float32]


def _numba():
    from daskgrad.kernels import _numba

    return _numba


def _coords(rng, n, dtype=np.float64):
    return np.cumsum(rng.uniform(0.3, 1.7, n)).astype(dtype)


def _assert_same(got, want):
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert g.dtype == w.dtype and g.shape == w.shape
        np.testing.assert_array_equal(g, w, strict=True)


def _mixed32(f, specs):
    """float32 data with Python-float steps and float64 coordinates: declined by design."""
    uniform = [s for s in specs if s.dx is None]
    return f.dtype == np.float32 and len(uniform) not in (0, len(specs))


def _check(f, specs, expected=None, dtype=None):
    """numba == reference (== expected when given) on block ``f``."""
    nb = _numba()
    dtype = f.dtype if dtype is None else dtype
    if _mixed32(f, specs) and all(type(s.h) is float for s in specs if s.dx is None):
        assert not nb.supports(f, specs, dtype)
        with np.errstate(all="ignore"):
            got = gradient_block(f, specs, dtype)
        if expected is not None:
            _assert_same(got, tuple(np.asarray(e, dtype=dtype) for e in expected))
        return got
    assert nb.supports(f, specs, dtype)
    got = nb.gradient_block(f, specs, dtype)
    with np.errstate(all="ignore"):
        ref = reference_gradient_block(f, specs, dtype)
    _assert_same(got, ref)
    if expected is not None:
        _assert_same(got, tuple(np.asarray(e, dtype=dtype) for e in expected))
    return got


def _np_gradient(f, spacing, axes, eo):
    with np.errstate(all="ignore"):
        g = np.gradient(f, *spacing, axis=axes, edge_order=eo)
    return (g,) if len(axes) == 1 else g


def _subsets(ndim):
    return [c for r in range(1, ndim + 1) for c in itertools.combinations(range(ndim), r)]


CASES = [(nd, axes) for nd in range(1, 5) for axes in _subsets(nd)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("eo", [1, 2])
@pytest.mark.parametrize("mode", ["uniform", "coords", "mixed"])
@pytest.mark.parametrize(("ndim", "axes"), CASES)
def test_whole_array_equals_numpy(ndim, axes, mode, eo, dtype, rng):
    f = rng.standard_normal(SHAPE[:ndim]).astype(dtype)
    spacing, specs = [], []
    for i, ax in enumerate(axes):
        if mode == "coords" or (mode == "mixed" and i % 2):
            x = _coords(rng, f.shape[ax])
            spacing.append(x)
            specs.append(AxisSpec(ax, eo, dx=np.diff(x)))
        else:
            h = (0.7, 1.0, 0.25)[i % 3]
            spacing.append(h)
            specs.append(AxisSpec(ax, eo, h=h))
    _check(f, tuple(specs), _np_gradient(f, spacing, axes, eo))


@pytest.mark.parametrize("eo", [1, 2])
def test_float32_data_mixed_spacing_with_numpy_scalar(eo, rng):
    """A NumPy float64 step is strong: every axis computes in float64, one sweep."""
    f = rng.standard_normal((5, 6, 4)).astype(np.float32)
    x = _coords(rng, 6)
    h = np.float64(0.7)
    specs = (AxisSpec(0, eo, h=h), AxisSpec(1, eo, dx=np.diff(x)), AxisSpec(2, eo, h=h))
    _check(f, specs, _np_gradient(f, [h, x, h], (0, 1, 2), eo))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "h", [0.7, 1.0, -2.0, 3, np.float64(0.3), np.float32(0.3), np.float64(0.5), np.float32(4.0)]
)
@pytest.mark.parametrize("eo", [1, 2])
def test_scalar_spacing_dtype_rules(h, eo, dtype, rng):
    """A Python float is weak (float32 stays float32); a NumPy scalar is strong."""
    f = rng.standard_normal((4, 7)).astype(dtype)
    specs = (AxisSpec(0, eo, h=h), AxisSpec(1, eo, h=h))
    _check(f, specs, _np_gradient(f, [h, h], (0, 1), eo))


@pytest.mark.parametrize("fdtype", DTYPES)
@pytest.mark.parametrize("xdtype", DTYPES)
@pytest.mark.parametrize("eo", [1, 2])
def test_coordinate_dtype_rules(fdtype, xdtype, eo, rng):
    """float32 data with float64 coordinates: computed in float64, cast to float32."""
    f = rng.standard_normal((6, 5)).astype(fdtype)
    xs = [_coords(rng, 6, xdtype), _coords(rng, 5, xdtype)]
    specs = tuple(AxisSpec(a, eo, dx=np.diff(x)) for a, x in enumerate(xs))
    _check(f, specs, _np_gradient(f, xs, (0, 1), eo))


def _cut(F, axes, bounds, planes, eo, modes, coords, hs):
    """Block, specs and numpy's answer for the block ``bounds`` of whole array ``F``."""
    block_sl = tuple(slice(*bounds.get(ax, (0, F.shape[ax]))) for ax in range(F.ndim))
    specs, expected_sl = [], block_sl
    for ax in axes:
        a, b = bounds.get(ax, (0, F.shape[ax]))
        n_all = F.shape[ax]
        lo_rng = (max(0, a - planes[ax][0]), a)
        hi_rng = (b, min(n_all, b + planes[ax][1]))

        def face(r, ax=ax):
            if r[0] == r[1]:
                return None
            sl = list(block_sl)
            sl[ax] = slice(*r)
            return F[tuple(sl)]

        lo, hi = face(lo_rng), face(hi_rng)
        if modes[ax] == "coords":
            spec = AxisSpec(ax, eo, dx=np.diff(coords[ax][lo_rng[0] : hi_rng[1]]), lo=lo, hi=hi)
        else:
            spec = AxisSpec(ax, eo, h=hs[ax], lo=lo, hi=hi)
        specs.append(spec)
    spacing = [coords[ax] if modes[ax] == "coords" else hs[ax] for ax in axes]
    whole = _np_gradient(F, spacing, axes, eo)
    return F[block_sl], tuple(specs), tuple(g[expected_sl] for g in whole)


def _enough(F, axes, bounds, planes, eo):
    """Whether each domain edge the block touches has the points numpy's stencil uses."""
    for ax in axes:
        a, b = bounds.get(ax, (0, F.shape[ax]))
        mlo, mhi = min(planes[ax][0], a), min(planes[ax][1], F.shape[ax] - b)
        if (a == 0 or b == F.shape[ax]) and mlo + (b - a) + mhi < eo + 1:
            return False
    return True


BLOCKS = [(0, 1), (0, 2), (0, 3), (1, 2), (2, 3), (1, 4), (2, 5), (4, 5), (3, 5), (5, 6), (0, 6)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("eo", [1, 2])
@pytest.mark.parametrize("mode", ["uniform", "coords"])
@pytest.mark.parametrize("planes", [(1, 1), (2, 2), (1, 2), (2, 1)])
@pytest.mark.parametrize("ndim", [1, 2, 3])
def test_blocks_with_faces_equal_numpy(ndim, planes, mode, eo, dtype, rng):
    """Every block (size-1 blocks included) with 0/1/2-plane faces == numpy on the whole."""
    F = rng.standard_normal((6,) * ndim).astype(dtype)
    axes = tuple(range(ndim))
    coords = {ax: _coords(rng, 6) for ax in axes}
    hs = {ax: (0.7, 1.0, 0.3)[ax] for ax in axes}
    modes = dict.fromkeys(axes, mode)
    n_checked = 0
    for combo in itertools.product(BLOCKS, repeat=ndim):
        bounds = dict(zip(axes, combo, strict=True))
        pl = dict.fromkeys(axes, planes)
        if not _enough(F, axes, bounds, pl, eo):
            continue
        block, specs, expected = _cut(F, axes, bounds, pl, eo, modes, coords, hs)
        _check(block, specs, expected)
        n_checked += 1
    assert n_checked > 0


def test_faces_on_some_axes_only_4d(rng):
    F = rng.standard_normal((6, 5, 6, 4))
    axes = (0, 2, 3)
    bounds = {0: (1, 3), 2: (0, 1), 3: (1, 2)}
    planes = {0: (2, 1), 2: (1, 2), 3: (1, 1)}
    modes = {0: "coords", 2: "uniform", 3: "coords"}
    coords = {ax: _coords(rng, F.shape[ax]) for ax in axes}
    hs = dict.fromkeys(axes, 0.5)
    block, specs, expected = _cut(F, axes, bounds, planes, 2, modes, coords, hs)
    _check(block, specs, expected)


@st.composite
def _block_cases(draw):
    ndim = draw(st.integers(1, 3))
    shape = tuple(draw(st.lists(st.integers(3, 7), min_size=ndim, max_size=ndim)))
    axes = tuple(sorted(draw(st.sets(st.integers(0, ndim - 1), min_size=1))))
    eo = draw(st.sampled_from([1, 2]))
    bounds, planes, modes = {}, {}, {}
    for ax in axes:
        a = draw(st.integers(0, shape[ax] - 1))
        bounds[ax] = (a, draw(st.integers(a + 1, shape[ax])))
        planes[ax] = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
        modes[ax] = draw(st.sampled_from(["uniform", "coords"]))
    dtype = draw(st.sampled_from(DTYPES))
    seed = draw(st.integers(0, 2**32 - 1))
    return shape, axes, eo, bounds, planes, modes, dtype, seed


@given(_block_cases())
def test_property_blocks_equal_numpy(case):
    shape, axes, eo, bounds, planes, modes, dtype, seed = case
    rng = np.random.default_rng(seed)
    F = rng.standard_normal(shape).astype(dtype)
    coords = {ax: _coords(rng, shape[ax]) for ax in axes}
    hs = {ax: float(rng.uniform(0.1, 2.0)) for ax in axes}
    if not _enough(F, axes, bounds, planes, eo):
        return
    block, specs, expected = _cut(F, axes, bounds, planes, eo, modes, coords, hs)
    _check(block, specs, expected)


def test_nan_and_inf_positions(rng):
    f = rng.standard_normal((6, 7, 5))
    f[2, 3, 1] = np.nan
    f[0, 0, 0] = np.inf
    f[5, 6, 4] = -np.inf
    f[3, 1, 2] = np.inf
    x = _coords(rng, 7)
    for eo in (1, 2):
        specs = (AxisSpec(0, eo, h=0.7), AxisSpec(1, eo, dx=np.diff(x)), AxisSpec(2, eo, h=1.0))
        got = _check(f, specs, _np_gradient(f, [0.7, x, 1.0], (0, 1, 2), eo))
        assert any(np.isnan(g).any() for g in got) and any(np.isinf(g).any() for g in got)


@pytest.mark.parametrize(
    "make",
    [
        np.asfortranarray,
        lambda a: a[:, ::2, :],
        lambda a: a.transpose(2, 0, 1),
        lambda a: a[::-1],
        lambda a: np.asfortranarray(a)[1:, :, 1:],
    ],
    ids=["fortran", "strided", "transposed", "reversed", "fortran-view"],
)
def test_non_contiguous_input(make, rng):
    f = make(rng.standard_normal((6, 8, 5)))
    for eo in (1, 2):
        specs = tuple(AxisSpec(a, eo, h=0.7) for a in range(3))
        _check(f, specs, _np_gradient(f, [0.7] * 3, (0, 1, 2), eo))


@pytest.mark.parametrize("axes", [(0, 1, 2), (1,), (0,), (0, 2), (2,)])
def test_strided_block_of_a_bigger_array(axes, rng):
    """A Dask-style block (a view into a C array): read in place or copied, same bits."""
    F = rng.standard_normal((9, 12, 10))
    bounds = {0: (2, 6), 1: (3, 9), 2: (1, 7)}
    planes = dict.fromkeys(range(3), (1, 1))
    modes = {0: "uniform", 1: "coords", 2: "uniform"}
    coords = {ax: _coords(rng, F.shape[ax]) for ax in range(3)}
    for eo in (1, 2):
        block, specs, expected = _cut(
            F, axes, bounds, planes, eo, modes, coords, {0: 0.7, 2: np.float64(1.0)}
        )
        assert not block.flags.c_contiguous and not block.flags.f_contiguous
        _check(block, specs, expected)


def test_non_contiguous_faces_and_readonly_block(rng):
    F = np.asfortranarray(rng.standard_normal((7, 6, 5)))
    F.flags.writeable = False
    planes = dict.fromkeys(range(3), (2, 2))
    bounds = {0: (2, 4), 1: (1, 3), 2: (2, 3)}
    modes = {0: "uniform", 1: "coords", 2: "uniform"}
    coords = {ax: _coords(rng, F.shape[ax]) for ax in range(3)}
    block, specs, expected = _cut(F, (0, 1, 2), bounds, planes, 2, modes, coords, {0: 1.0, 2: 0.3})
    assert not block.flags.c_contiguous
    _check(block, specs, expected)


def test_output_dtype_differs_from_input(rng):
    f = rng.standard_normal((5, 6)).astype(np.float32)
    specs = (AxisSpec(0, 1, h=0.7), AxisSpec(1, 2, h=1.0))
    _check(f, specs, dtype=np.dtype(np.float64))


def test_parallel_equals_serial(rng):
    nb = _numba()
    f = rng.standard_normal((40, 50, 48))
    x = _coords(rng, 50)
    specs = (AxisSpec(0, 2, h=0.7), AxisSpec(1, 2, dx=np.diff(x)), AxisSpec(2, 1, h=1.0))
    assert f.size >= nb._PARALLEL_MIN_SIZE
    _assert_same(
        nb.gradient_block(f, specs, f.dtype, parallel=True),
        nb.gradient_block(f, specs, f.dtype, parallel=False),
    )


@pytest.mark.parametrize("eo", [1, 2])
def test_parallel_block_with_faces_equals_numpy(eo, rng):
    """Row ranges split across threads start mid-axis: the counters must agree."""
    nb = _numba()
    F = rng.standard_normal((45, 52, 50))
    axes = (0, 1, 2)
    bounds = {0: (0, 41), 1: (2, 50), 2: (1, 49)}
    planes = dict.fromkeys(axes, (1, 1))
    modes = {0: "coords", 1: "uniform", 2: "coords"}
    coords = {ax: _coords(rng, F.shape[ax]) for ax in axes}
    hs = {1: np.float64(0.7)}
    block, specs, expected = _cut(F, axes, bounds, planes, eo, modes, coords, hs)
    assert block.size >= nb._PARALLEL_MIN_SIZE
    _assert_same(nb.gradient_block(block, specs, block.dtype, parallel=True), expected)


def test_parallel_from_worker_threads_does_not_crash(rng):
    """Called from several threads at once with parallel=True: serial there, same answer."""
    nb = _numba()
    f = rng.standard_normal((40, 50, 48))
    specs = tuple(AxisSpec(a, 1, h=0.7) for a in range(3))
    want = nb.gradient_block(f, specs, f.dtype)
    names = []

    def work(_):
        names.append(threading.current_thread().name)
        return nb.gradient_block(f, specs, f.dtype, parallel=True)

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(work, range(8)))
    assert all(name != threading.main_thread().name for name in names)
    for got in results:
        _assert_same(got, want)


def test_dispatcher_uses_numba_and_returns_fresh_outputs(rng, monkeypatch):
    nb = _numba()
    calls = []

    def spy(*args, **kwargs):
        out = real(*args, **kwargs)
        calls.append(out is not None)
        return out

    real = nb.try_gradient_block
    monkeypatch.setattr(nb, "try_gradient_block", spy)
    f = rng.standard_normal((5, 6))
    specs = (AxisSpec(0, 1, h=1.0), AxisSpec(1, 1, h=1.0))
    a = gradient_block(f, specs, f.dtype)
    assert calls == [True]
    gradient_block(f.astype(complex), specs, complex)  # declined: the reference runs
    assert calls == [True, False]
    b = gradient_block(f, specs, f.dtype)
    assert not np.shares_memory(a[0], b[0]) and not np.shares_memory(a[0], a[1])
    assert not np.shares_memory(a[0], f)
    _assert_same(a, reference_gradient_block(f, specs, f.dtype))


@pytest.mark.parametrize(
    ("f", "specs", "dtype"),
    [
        (np.zeros(4, complex), (AxisSpec(0, 1, h=1.0),), complex),
        (np.zeros(4, np.float16), (AxisSpec(0, 1, h=1.0),), np.float16),
        (np.zeros(4, np.int64), (AxisSpec(0, 1, h=1.0),), np.float64),
        (np.ma.zeros(4), (AxisSpec(0, 1, h=1.0),), np.float64),
        (np.zeros(4), (AxisSpec(0, 1, h=1j),), np.float64),
        (np.zeros(4), (AxisSpec(0, 1, h=0.0),), np.float64),
        (np.zeros(4), (AxisSpec(0, 1, h=np.inf),), np.float64),
        (np.zeros(4), (AxisSpec(0, 1, dx=np.ones(2)),), np.float64),
        (np.zeros(4), (AxisSpec(0, 1, dx=np.array([1.0, 0.0, 1.0])),), np.float64),
        (np.zeros(4), (AxisSpec(0, 1, h=1.0, lo=np.zeros(1, np.float32)),), np.float64),
        (np.zeros((3, 4)), (AxisSpec(0, 1, h=1.0, lo=np.zeros((1, 3))),), np.float64),
        (np.zeros((3, 4)), (AxisSpec(0, 1, h=1.0), AxisSpec(0, 1, h=1.0)), np.float64),
        (np.zeros((1, 4)), (AxisSpec(0, 1, h=1.0),), np.float64),
        (np.zeros((2, 4)), (AxisSpec(0, 2, h=1.0),), np.float64),
        (np.zeros((0, 4)), (AxisSpec(1, 1, h=1.0),), np.float64),
        (np.zeros(4), (), np.float64),
        (np.zeros(()), (), np.float64),
        ([1.0, 2.0], (AxisSpec(0, 1, h=1.0),), np.float64),
    ],
)
def test_declines_what_it_cannot_match(f, specs, dtype):
    assert not _numba().supports(f, specs, dtype)
    assert _numba().try_gradient_block(f, specs, dtype) is None


def test_size_one_block_needs_faces():
    nb = _numba()
    f = np.array([[2.0, 3.0]])
    assert not nb.supports(f, (AxisSpec(0, 1, h=1.0),), f.dtype)
    specs = (AxisSpec(0, 1, h=1.0, hi=np.array([[4.0, 7.0]])),)
    _check(f, specs, ([[2.0, 4.0]],))
