"""The Dask layer's graph: size, shape, determinism, halo sources."""

from __future__ import annotations

import numpy as np
import pytest

from daskgrad.chunked import _face_sources

from .helpers import raise_if_dask_computes, requires_dask

pytestmark = requires_dask


def _ntasks(arrays) -> int:
    """Tasks in the arrays' merged graph, in both dask array modes (in array-expr mode
    each graph is a dict of the whole graph: count the union of the keys)."""
    from dask.highlevelgraph import HighLevelGraph

    graphs = [a.__dask_graph__() for a in arrays]
    if all(isinstance(g, HighLevelGraph) for g in graphs):
        return len(HighLevelGraph.merge(*graphs))
    return len(set().union(*(dict(g) for g in graphs)))


def _nchunks(f) -> int:
    return int(np.prod(f.numblocks))


@pytest.mark.parametrize("naxes", [1, 2, 3])
def test_tasks_per_chunk(naxes):
    """One faces task, one kernel and k getitems per chunk for k axes (k == 1: the
    kernel is the output, no getitem)."""
    import dask.array as da

    import daskgrad

    f = da.ones((16, 12, 10), chunks=(4, 3, 5))
    out = daskgrad.gradient(f, axis=tuple(range(naxes)))
    out = out if isinstance(out, tuple) else (out,)
    added = _ntasks(out) - _ntasks([f])
    per_chunk = naxes + 2 if naxes > 1 else 2
    assert added == per_chunk * _nchunks(f)


def test_far_fewer_tasks_than_dask_gradient():
    import dask.array as da

    import daskgrad

    if da.array_expr_enabled():
        pytest.skip("dask.array.gradient is not implemented in dask's array-expr mode")

    f = da.ones((32, 64, 64), chunks=(8, 16, 16))
    ours = _ntasks(daskgrad.gradient(f)) - _ntasks([f])
    theirs = _ntasks(da.gradient(f)) - _ntasks([f])
    assert ours / _nchunks(f) <= 5
    assert theirs > 2 * ours


def test_chunks_meta_dtype_preserved():
    import dask.array as da

    import daskgrad

    f = da.from_array(np.arange(60, dtype=np.int16).reshape(6, 10), chunks=((1, 5), (3, 3, 3, 1)))
    with raise_if_dask_computes():
        g0, g1 = daskgrad.gradient(f, edge_order=2)
    for g in (g0, g1):
        assert g.chunks == f.chunks
        assert g.dtype == np.float64
        assert type(g._meta) is np.ndarray and g._meta.dtype == np.float64
    np.testing.assert_array_equal(
        g1.compute(), np.gradient(f.compute().astype(float), axis=1, edge_order=2)
    )


def test_deterministic_keys():
    import dask.array as da

    import daskgrad

    f = da.ones((8, 8), chunks=3)
    a = daskgrad.gradient(f, 2.0)
    b = daskgrad.gradient(f, 2.0)
    c = daskgrad.gradient(f, 3.0)
    assert [x.name for x in a] == [x.name for x in b]
    assert a[0].name != c[0].name


def test_two_outputs_computed_together_share_the_kernel():
    import dask
    import dask.array as da

    import daskgrad

    f = da.from_array(np.random.default_rng(0).random((9, 7)), chunks=(2, 3))
    gy, gx = daskgrad.gradient(f)
    ry, rx = dask.compute(gy, gx)
    ey, ex = np.gradient(f.compute())
    np.testing.assert_array_equal(ry, ey)
    np.testing.assert_array_equal(rx, ex)


@pytest.mark.parametrize(
    "chunks, periodic, edge_order, expected",
    [
        # interior blocks read one plane from each neighbour; ends are one-sided
        ((3, 3), False, 1, [((), ((1, 1),)), (((0, 1),), ())]),
        # a size-1 end block with edge_order 2 reads two planes, across neighbours
        ((1, 1, 3), False, 2, [((), ((1, 1), (2, 1))), (((0, 1),), ((2, 1),)), (((1, 1),), ())]),
        ((4, 1), False, 2, [((), ((1, 1),)), (((0, 2),), ())]),
        # periodic: every block wraps, a single block is its own neighbour
        ((5,), True, 2, [(((0, 1),), ((0, 1),))]),
        ((2, 3), True, 1, [(((1, 1),), ((1, 1),)), (((0, 1),), ((0, 1),))]),
    ],
)
def test_face_sources(chunks, periodic, edge_order, expected):
    assert _face_sources(chunks, periodic, edge_order) == expected


def test_unknown_chunks_is_an_error():
    import dask.array as da

    import daskgrad

    f = da.from_array(np.arange(10.0), chunks=5)
    # f[f > 2] in classic mode; boolean indexing is not implemented in array-expr mode
    f = f.map_blocks(lambda b: b[b > 2], chunks=((np.nan, np.nan),), dtype=f.dtype)
    with pytest.raises(ValueError, match="unknown chunk sizes"):
        daskgrad.gradient(f)


def test_graph_build_scales_linearly():
    """Task count is linear in the number of chunks (no 3^k halo blow-up)."""
    import dask.array as da

    import daskgrad

    small = da.ones((64, 64, 64), chunks=16)
    large = da.ones((128, 128, 128), chunks=16)
    n_small = _ntasks(daskgrad.gradient(small)) - _ntasks([small])
    n_large = _ntasks(daskgrad.gradient(large)) - _ntasks([large])
    assert n_large == 8 * n_small


def test_period_shorter_than_the_coordinates_is_an_error():
    import dask.array as da

    import daskgrad

    x = np.arange(5.0)
    for f in (x**2, da.from_array(x**2, chunks=2)):
        with pytest.raises(ValueError, match="period: 2.0 is not longer than the span"):
            daskgrad.gradient(f, x, boundary="periodic", period=2.0)
    # lazy coordinates: checked when the coordinate is known, at compute time
    g = daskgrad.gradient(
        da.from_array(x**2, chunks=2), da.from_array(x, chunks=2), boundary="periodic", period=2.0
    )
    with pytest.raises(ValueError, match="period"):
        g.compute()


def _masked(x):
    """A Dask array with masked chunks: ``da.ma.masked_array`` in classic mode
    (array-expr mode has no ``da.ma``), ``map_blocks`` with a masked meta in both."""
    import dask.array as da

    out = [x.map_blocks(np.ma.masked_invalid, meta=np.ma.masked_array(np.empty((0,) * x.ndim)))]
    if not da.array_expr_enabled():
        out.append(da.ma.masked_array(x, mask=x > 3))
    return out


def test_masked_dask_input_is_refused_at_call_time():
    """Like NumPy masked input (the mask was silently dropped before)."""
    import dask.array as da

    import daskgrad

    x = da.from_array(np.arange(10.0), chunks=4)
    with pytest.raises(TypeError, match="f: masked arrays are not supported"):
        daskgrad.gradient(np.ma.masked_array(np.arange(10.0), mask=[0, 1] * 5))
    for m in _masked(x):
        assert isinstance(m._meta, np.ma.MaskedArray)
        with raise_if_dask_computes(), pytest.raises(TypeError, match="f: masked arrays are not"):
            daskgrad.gradient(m, edge_order=2)


def test_masked_dask_coordinates_are_refused_at_call_time():
    import dask.array as da

    import daskgrad

    f = da.from_array(np.arange(20.0).reshape(2, 10) ** 2, chunks=4)
    for m in _masked(da.from_array(np.arange(10.0), chunks=3)):
        with (
            raise_if_dask_computes(),
            pytest.raises(TypeError, match="varargs/spacing: masked arrays are not supported"),
        ):
            daskgrad.gradient(f, 1.0, m)
    # unmasked Dask coordinates of the same values are fine
    g = daskgrad.gradient(f, da.from_array(np.arange(10.0), chunks=3), axis=1)
    np.testing.assert_array_equal(g.compute(), np.gradient(f.compute(), axis=1), strict=True)
