"""Zero-length chunks on the Dask path: numpy.gradient's answer, chunks kept as given.

They appear after boolean indexing + ``compute_chunk_sizes()``, ``da.concatenate``
with empty arrays and some rechunks. Empty blocks are never a face source, the ends
of an axis are its first and last non-empty blocks, and an empty block gives an
empty output block. Every test compares with ``numpy.gradient`` (or, on periodic
axes, the ``np.roll`` oracle of ``tests/oracles.py``) bit for bit, in whichever
dask array mode the run uses.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from .helpers import requires_dask
from .oracles import coords, period_for, reference_gradient

pytestmark = [requires_dask, pytest.mark.dask]

CHUNKINGS_1D = {
    "start": (0, 3, 4),
    "middle": (3, 0, 4),
    "end": (3, 4, 0),
    "several in a row": (2, 0, 0, 0, 5),
    "everywhere": (0, 0, 1, 0, 2, 0, 0, 3, 1, 0),
    "size-1 blocks between zeros": (0, 1, 0, 1, 0, 1, 0, 4, 0),
    "one non-empty block": (0, 0, 7, 0),
    "size-1 ends": (1, 0, 5, 0, 1),
}


def _dask(a: np.ndarray, chunks):
    import dask.array as da

    return da.from_array(a, chunks=chunks)


def _check(out, expected, chunks) -> None:
    out = out if isinstance(out, tuple) else (out,)
    assert len(out) == len(expected)
    for o, e in zip(out, expected, strict=True):
        assert o.chunks == chunks
        np.testing.assert_array_equal(o.compute(), e, strict=True)


def _f(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


@pytest.mark.parametrize("edge_order", [1, 2])
@pytest.mark.parametrize("chunks", CHUNKINGS_1D.values(), ids=CHUNKINGS_1D.keys())
def test_uniform_1d(chunks, edge_order):
    import daskgrad

    a = _f((sum(chunks),))
    out = daskgrad.gradient(_dask(a, (chunks,)), 0.5, edge_order=edge_order)
    _check(out, [np.gradient(a, 0.5, edge_order=edge_order)], (chunks,))


@pytest.mark.parametrize("coord_backend", ["numpy", "dask", "dask, zero chunks"])
@pytest.mark.parametrize("edge_order", [1, 2])
@pytest.mark.parametrize("chunks", CHUNKINGS_1D.values(), ids=CHUNKINGS_1D.keys())
def test_coordinates_1d(chunks, edge_order, coord_backend):
    import daskgrad

    n = sum(chunks)
    a, x = _f((n,)), coords("coords_nonuniform", n, 3)
    xc = {"numpy": x, "dask": _dask(x, 3), "dask, zero chunks": _dask(x, ((0, 2, 0, n - 2, 0),))}
    out = daskgrad.gradient(_dask(a, (chunks,)), xc[coord_backend], edge_order=edge_order)
    _check(out, [np.gradient(a, x, edge_order=edge_order)], (chunks,))


@pytest.mark.parametrize("edge_order", [1, 2])
def test_several_axes(edge_order):
    """Zero chunks on every axis of a 3-D array; uniform, NumPy and Dask coordinates."""
    import daskgrad

    chunks = ((0, 2, 0, 3), (1, 0, 0, 4, 0), (0, 3, 0, 0, 2, 1))
    shape = tuple(sum(c) for c in chunks)
    a = _f(shape, 1)
    x0 = coords("non_monotonic", shape[0], 0)
    x2 = coords("coords_nonuniform", shape[2], 2)
    f = _dask(a, chunks)
    _check(
        daskgrad.gradient(f, edge_order=edge_order), np.gradient(a, edge_order=edge_order), chunks
    )
    x2d = _dask(x2, ((2, 0, 0, 4, 0),))
    out = daskgrad.gradient(f, x0, 2.0, x2d, edge_order=edge_order)
    _check(out, np.gradient(a, x0, 2.0, x2, edge_order=edge_order), chunks)
    out = daskgrad.gradient(f, x2d, axis=-1, edge_order=edge_order)
    _check(out, [np.gradient(a, x2, axis=-1, edge_order=edge_order)], chunks)


@pytest.mark.parametrize("chunks", CHUNKINGS_1D.values(), ids=CHUNKINGS_1D.keys())
def test_periodic(chunks):
    """Periodic axes wrap past empty end blocks: scalar spacing, and coordinates with
    a period (NumPy and Dask coordinates, the latter with zero chunks of their own)."""
    import daskgrad

    n = sum(chunks)
    a = _f((n, 4), 2)
    ch = (chunks, (0, 2, 0, 2))
    f = _dask(a, ch)
    exp = reference_gradient(a, [0.5, 1.0], [0, 1], periodic=[True, False])
    _check(daskgrad.gradient(f, 0.5, 1.0, boundary={0: "periodic"}), exp, ch)
    x = coords("coords_nonuniform", n, 5)
    p = period_for(x)
    exp = reference_gradient(a, [x], [0], periodic=[True], periods=[p])
    for xc in (x, _dask(x, ((0, 1, 0, n - 1),))):
        out = daskgrad.gradient(f, xc, axis=0, boundary="periodic", period=p)
        _check(out, exp, ch)


def test_empty_non_differentiated_axis():
    """A zero-size axis that is not differentiated: empty outputs, chunks kept."""
    import daskgrad

    a = _f((0, 5))
    ch = ((0, 0), (2, 0, 3))
    out = daskgrad.gradient(_dask(a, ch), axis=1, edge_order=2)
    _check(out, [np.gradient(a, axis=1, edge_order=2)], ch)


def test_empty_blocks_are_empty_and_typed():
    """Each output block of an empty input block is empty, of the output dtype."""
    import dask

    import daskgrad

    a = np.arange(12, dtype=np.int32).reshape(3, 4)
    ch = ((0, 3), (2, 0, 2))
    gy, gx = daskgrad.gradient(_dask(a, ch))
    for g in (gy, gx):
        graph, keys = dict(g.__dask_graph__()), g.__dask_keys__()  # no .blocks in array-expr
        for idx in np.ndindex(*g.numblocks):
            key = keys
            for i in idx:
                key = key[i]
            block = dask.get(graph, key)
            assert type(block) is np.ndarray
            assert block.dtype == np.float64
            assert block.shape == tuple(c[i] for c, i in zip(ch, idx, strict=True))


def test_from_boolean_indexing_and_concatenate():
    """Zero chunks as Dask makes them: boolean indexing + compute_chunk_sizes (classic
    mode only: array-expr mode has no boolean indexing) and concatenating an empty array."""
    import dask.array as da

    import daskgrad

    a = _f((12,), 4)
    x = da.from_array(a, chunks=3)
    if not da.array_expr_enabled():
        sel = x[da.from_array(np.arange(12) // 3 != 1, chunks=3)]
        sel.compute_chunk_sizes()
        assert 0 in sel.chunks[0]
        _check(
            daskgrad.gradient(sel, edge_order=2),
            [np.gradient(a[np.arange(12) // 3 != 1], edge_order=2)],
            sel.chunks,
        )
    cat = da.concatenate([x[:5], da.zeros((0,), chunks=1), x[5:]]).rechunk(((2, 3, 0, 7),))
    assert cat.chunks == ((2, 3, 0, 7),)
    _check(daskgrad.gradient(cat, 2.0), [np.gradient(a, 2.0)], cat.chunks)


@st.composite
def _chunking(draw, min_total: int):
    sizes = draw(st.lists(st.integers(0, 4), min_size=1, max_size=7))
    if sum(sizes) < min_total:
        sizes.append(min_total - sum(sizes))
    zero_at = draw(st.integers(0, len(sizes)))
    sizes.insert(zero_at, 0)  # at least one zero-length chunk, anywhere
    return tuple(sizes)


@given(
    c0=_chunking(3),
    c1=_chunking(3),
    edge_order=st.sampled_from([1, 2]),
    spacing=st.sampled_from(["scalar", "numpy", "dask"]),
    periodic=st.booleans(),
)
def test_random_chunkings_with_zeros(c0, c1, edge_order, spacing, periodic):
    import daskgrad

    shape = (sum(c0), sum(c1))
    a = _f(shape, len(c0) + 10 * len(c1))
    x = coords("coords_nonuniform", shape[1], len(c1))
    p = period_for(x)
    sp1 = {"scalar": 0.25, "numpy": x, "dask": _dask(x, (c1[::-1],))}[spacing]
    out = daskgrad.gradient(
        _dask(a, (c0, c1)),
        1.5,
        sp1,
        edge_order=edge_order,
        boundary={1: "periodic"} if periodic else "none",
        period={1: p} if periodic and spacing != "scalar" else None,
    )
    sp = [1.5, 0.25 if spacing == "scalar" else x]
    if periodic:
        exp = reference_gradient(
            a, sp, [0, 1], edge_order=edge_order, periodic=[False, True], periods=[None, p]
        )
    else:
        exp = np.gradient(a, *sp, edge_order=edge_order)
    _check(out, exp, (c0, c1))
