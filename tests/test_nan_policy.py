"""``nan_policy``: "omit" against an oracle that applies ``numpy.gradient`` run by run,
over masks (coastline-like blobs, isolated points, whole NaN lines, runs of 1/2/3,
all-NaN, none), chunkings (size 1, ragged, single, runs across several chunks),
edge orders, spacing forms and periodic axes; "raise"; bad values; Hypothesis."""

from __future__ import annotations

import dask
import dask.array as da
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import daskgrad

pytestmark = pytest.mark.dask

# ------------------------------------------------------------------ the oracle


def _runs(valid: np.ndarray) -> list[tuple[int, int]]:
    """Maximal runs ``[a, b)`` of True in a 1-D bool array."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], valid.astype(np.int8), [0]])))
    return list(zip(edges[::2], edges[1::2], strict=True))


def _line(f: np.ndarray, x: np.ndarray | None, h: float, eo: int) -> np.ndarray:
    """numpy.gradient on each run of valid points of one non-periodic line."""
    out = np.full(f.shape, np.nan, dtype=np.result_type(f, 0.0))
    for a, b in _runs(~np.isnan(f)):
        if b - a == 1:
            continue
        spacing = h if x is None else x[a:b]
        out[a:b] = np.gradient(f[a:b], spacing, edge_order=min(eo, b - a - 1))
    return out


def _periodic_line(f, x, h, eo, period):
    """A periodic line: without NaN, central differences that wrap (np.roll); with,
    rotated to start after its first NaN (coordinates one period on across the
    seam), then as a non-periodic line, and rotated back."""
    nan = np.flatnonzero(np.isnan(f))
    if nan.size == 0:
        fm, fp = np.roll(f, 1), np.roll(f, -1)
        if x is None:
            return (fp - fm) / (2.0 * h)
        d = np.diff(x)
        seam = x[0] + period - x[-1]
        hd, hs = np.concatenate([d, [seam]]), np.concatenate([[seam], d])
        a = -(hd) / (hs * (hs + hd))
        b = (hd - hs) / (hs * hd)
        c = hs / (hd * (hs + hd))
        return a * fm + b * f + c * fp
    k = nan[0] + 1
    fr = np.roll(f, -k)
    xr = None if x is None else np.concatenate([x[k:], x[:k] + period])
    return np.roll(_line(fr, xr, h, eo), k)


def omit_oracle(f, axis, *, x=None, h=1.0, edge_order=1, periodic=False, period=None):
    """The contract of nan_policy="omit" along one axis, line by line."""
    g = np.moveaxis(np.asarray(f), axis, -1)
    out = np.empty(g.shape, dtype=np.result_type(g, 0.0))
    for idx in np.ndindex(*g.shape[:-1]):
        if periodic:
            out[idx] = _periodic_line(g[idx], x, h, edge_order, period)
        else:
            out[idx] = _line(g[idx], x, h, edge_order)
    return np.moveaxis(out, -1, axis)


# ------------------------------------------------------------------ masks


def _mask(kind: str, shape: tuple[int, ...], seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if kind == "none":
        return np.zeros(shape, bool)
    if kind == "all":
        return np.ones(shape, bool)
    if kind == "isolated":
        return rng.random(shape) < 0.08
    if kind == "dense":  # many runs of 1, 2 and 3 points
        return rng.random(shape) < 0.45
    if kind == "lines":  # whole NaN lines along the last axis and along the first
        m = np.zeros(shape, bool)
        m[1] = True
        m[..., min(2, shape[-1] - 1)] = True
        return m
    if kind == "blobs":  # coastline-like: a smoothed random field, thresholded
        noise = rng.standard_normal(shape)
        for ax in range(len(shape)):
            for _ in range(3):
                noise = noise + np.roll(noise, 1, ax) + np.roll(noise, -1, ax)
        return noise > 0.6 * noise.std()
    raise ValueError(kind)


MASKS = ("none", "all", "isolated", "dense", "lines", "blobs")


def _field(shape, kind, seed, dtype=np.float64):
    rng = np.random.default_rng(seed)
    f = rng.standard_normal(shape).astype(dtype)
    f[_mask(kind, shape, seed + 1)] = np.nan
    return f


def _coords(n, seed):
    rng = np.random.default_rng(seed)
    return np.cumsum(rng.uniform(0.5, 1.5, n))


# ------------------------------------------------------------------ NumPy


@pytest.mark.parametrize("mask", MASKS)
@pytest.mark.parametrize("edge_order", [1, 2])
@pytest.mark.parametrize("spacing", ["unit", "scalar", "coords"])
def test_numpy_equals_run_by_run_numpy_gradient(mask, edge_order, spacing):
    shape = (9, 13, 11)
    f = _field(shape, mask, 3)
    xs = [_coords(n, 10 + i) for i, n in enumerate(shape)]
    args = () if spacing == "unit" else (0.7,) if spacing == "scalar" else tuple(xs)
    got = daskgrad.gradient(f, *args, edge_order=edge_order, nan_policy="omit")
    for ax in range(3):
        kw = {"x": xs[ax]} if spacing == "coords" else {"h": 0.7 if args else 1.0}
        want = omit_oracle(f, ax, edge_order=edge_order, **kw)
        np.testing.assert_array_equal(got[ax], want)  # bit-identical, NaN where NaN


@pytest.mark.parametrize("mask", MASKS)
@pytest.mark.parametrize("edge_order", [1, 2])
@pytest.mark.parametrize("n", [1, 2, 3, 7, 24])
def test_periodic_runs_cross_the_seam(mask, edge_order, n):
    f = _field((5, n), mask, n)
    x = _coords(n, n)
    period = float(x[-1] - x[0]) + 0.8
    got = daskgrad.gradient(
        f, x, axis=1, edge_order=edge_order, boundary="periodic", period=period, nan_policy="omit"
    )
    want = omit_oracle(f, 1, x=x, edge_order=edge_order, periodic=True, period=period)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    got_h = daskgrad.gradient(
        f, 0.5, axis=1, edge_order=edge_order, boundary="periodic", nan_policy="omit"
    )
    want_h = omit_oracle(f, 1, h=0.5, edge_order=edge_order, periodic=True)
    np.testing.assert_allclose(got_h, want_h, rtol=1e-12, atol=0)
    np.testing.assert_array_equal(np.isnan(got_h), np.isnan(want_h))


def test_propagate_is_numpy_and_the_default():
    f = _field((20, 30), "blobs", 5)
    for eo in (1, 2):
        want = np.gradient(f, edge_order=eo)
        for got in (
            daskgrad.gradient(f, edge_order=eo),
            daskgrad.gradient(f, edge_order=eo, nan_policy="propagate"),
        ):
            for g, w in zip(got, want, strict=True):
                np.testing.assert_array_equal(g, w)


def test_omit_keeps_inf_and_complex_nan():
    f = np.array([1.0, np.inf, 3.0, np.nan, 5.0, 6.0])
    got = daskgrad.gradient(f, nan_policy="omit")
    with np.errstate(invalid="ignore"):
        want = omit_oracle(f, 0)
    np.testing.assert_array_equal(got, want)
    assert np.isinf(got[0]) and np.isnan(got[3])
    z = np.array([1 + 1j, 2 + 0j, complex(np.nan, 0), 4j, 5 + 5j, 6.0])
    np.testing.assert_array_equal(daskgrad.gradient(z, nan_policy="omit"), omit_oracle(z, 0))


def test_float32_keeps_its_dtype():
    f = _field((16, 17), "dense", 8, np.float32)
    x = _coords(17, 2)
    got = daskgrad.gradient(f, x, axis=1, edge_order=2, nan_policy="omit")
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, omit_oracle(f, 1, x=x, edge_order=2))


# ------------------------------------------------------------------ Dask

CHUNKINGS = {
    "size1": 1,
    "ragged": ((3, 1, 5, 2, 4), (4, 1, 1, 7, 3), (2, 6, 3)),
    "single": -1,
    "small": 2,
}


@pytest.mark.parametrize("chunks", list(CHUNKINGS))
@pytest.mark.parametrize("mask", ["dense", "blobs", "lines", "isolated"])
@pytest.mark.parametrize("edge_order", [1, 2])
def test_dask_equals_numpy_any_chunking(chunks, mask, edge_order):
    shape = (15, 16, 11)
    f = _field(shape, mask, 11)
    xs = [_coords(n, 20 + i) for i, n in enumerate(shape)]
    want = daskgrad.gradient(f, *xs, edge_order=edge_order, nan_policy="omit")
    lazy = daskgrad.gradient(
        da.from_array(f, chunks=CHUNKINGS[chunks]), *xs, edge_order=edge_order, nan_policy="omit"
    )
    for g, w in zip(dask.compute(*lazy), want, strict=True):
        np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize("chunks", [1, 2, 3, (4, 1, 2, 5), -1])
@pytest.mark.parametrize("edge_order", [1, 2])
def test_dask_periodic_and_dask_coordinates(chunks, edge_order):
    f = _field((4, 12), "dense", 4)
    x = _coords(12, 4)
    period = float(x[-1] - x[0]) + 0.7
    kw = dict(axis=1, edge_order=edge_order, boundary="periodic", period=period, nan_policy="omit")
    want = daskgrad.gradient(f, x, **kw)
    fd = da.from_array(f, chunks=(2, chunks))
    for coord in (x, da.from_array(x, chunks=5)):
        np.testing.assert_array_equal(daskgrad.gradient(fd, coord, **kw).compute(), want)


def test_run_end_in_the_next_chunk():
    """A run whose second point lies in the next chunk (and whose third in the one
    after): the block needs two planes from its neighbours."""
    f = np.array([np.nan, 1.0, 2.0, 4.5, np.nan, 3.0, 9.0, np.nan, 2.0, 5.0, 7.0, 11.0])
    want = omit_oracle(f, 0, edge_order=2)
    for chunks in [(2, 1, 1, 2, 2, 4), (1,) * 12, (2, 2, 3, 5)]:
        got = daskgrad.gradient(da.from_array(f, chunks=chunks), edge_order=2, nan_policy="omit")
        np.testing.assert_array_equal(got.compute(), want)


# ------------------------------------------------------------------ raise / bad values


def test_raise():
    f = np.arange(6.0)
    np.testing.assert_array_equal(daskgrad.gradient(f, nan_policy="raise"), np.gradient(f))
    f[3] = np.nan
    with pytest.raises(ValueError, match=r"^f: contains NaN"):
        daskgrad.gradient(f, nan_policy="raise")
    lazy = daskgrad.gradient(da.from_array(f, chunks=2), nan_policy="raise")  # stays lazy
    with pytest.raises(ValueError, match=r"^f: contains NaN"):
        lazy.compute()


@pytest.mark.parametrize("bad", ["Omit", "ignore", None, 1, b"omit", ""])
@pytest.mark.parametrize("backend", ["numpy", "dask"])
def test_unknown_policy_is_refused_at_call_time(bad, backend):
    f = np.arange(6.0) if backend == "numpy" else da.arange(6.0, chunks=2)
    with pytest.raises(ValueError, match="nan_policy"):
        daskgrad.gradient(f, nan_policy=bad)
    with pytest.raises(ValueError, match="nan_policy"):
        daskgrad.gradient(f, spacing=1.0, nan_policy=bad)


def test_torch_form():
    f = _field((8, 9), "dense", 2)
    x = _coords(9, 1)
    (got,) = daskgrad.gradient(f, spacing=[x], dim=1, nan_policy="omit")
    np.testing.assert_array_equal(got, omit_oracle(f, 1, x=x))


def test_masked_array_message_points_to_omit():
    with pytest.raises(TypeError, match="nan_policy='omit'"):
        daskgrad.gradient(np.ma.masked_invalid([1.0, np.nan, 3.0]))


# ------------------------------------------------------------------ Hypothesis


@st.composite
def _cases(draw):
    n = draw(st.integers(3, 14))
    m = draw(st.integers(1, 4))
    missing = draw(st.lists(st.booleans(), min_size=n * m, max_size=n * m))
    chunks = []
    left = n
    while left:
        c = draw(st.integers(1, left))
        chunks.append(c)
        left -= c
    return n, m, np.array(missing).reshape(m, n), tuple(chunks), draw(st.sampled_from([1, 2]))


@settings(max_examples=60, deadline=None)
@given(_cases(), st.booleans())
def test_property_omit_on_any_mask_and_chunking(case, coords):
    n, m, missing, chunks, eo = case
    f = np.random.default_rng(n * 31 + m).standard_normal((m, n))
    f[missing] = np.nan
    x = _coords(n, n) if coords else None
    args = (x,) if coords else ()
    want = omit_oracle(f, 1, x=x, edge_order=eo)
    got = daskgrad.gradient(f, *args, axis=1, edge_order=eo, nan_policy="omit")
    np.testing.assert_array_equal(got, want)
    fd = da.from_array(f, chunks=(1, chunks))
    got_d = daskgrad.gradient(fd, *args, axis=1, edge_order=eo, nan_policy="omit").compute()
    np.testing.assert_array_equal(got_d, want)
