"""Metric and vector operators inside the kernel's task: the same bits as composing them,
k + 2 tasks per chunk for a geographic gradient, 2 for divergence and vorticity."""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers import raise_if_dask_computes, requires_dask, requires_xarray

pytestmark = [requires_xarray, requires_dask, pytest.mark.dask]

xr = pytest.importorskip("xarray")
import daskgrad  # noqa: E402
from daskgrad import _fused  # noqa: E402
from daskgrad._geo import EARTH_RADIUS as R  # noqa: E402
from daskgrad.datasets import sphere_grid  # noqa: E402

CHUNKS = {
    "one chunk": {"time": -1, "latitude": -1, "longitude": -1},
    "ragged": {"time": (2, 1), "latitude": (5, 1, 13), "longitude": 10},
    "size 1": {"time": 1, "latitude": 1, "longitude": 12},
}


def _winds(dtype, regional=False, nan=False, seed=0):
    g = sphere_grid(19, 36)  # poles included: NaN rows of the zonal metric
    if regional:  # not the whole circle: no periodic seam, numpy.gradient is the oracle
        g = g.isel(longitude=slice(3, 30))
    rng = np.random.default_rng(seed)
    shape = (3, g.latitude.size, g.longitude.size)
    dims = ("time", "latitude", "longitude")
    coords = {"latitude": g.latitude, "longitude": g.longitude}
    u, v = (
        xr.DataArray(rng.standard_normal(shape).astype(dtype), dims=dims, coords=coords)
        for _ in range(2)
    )
    if nan:
        u[0, 4, 5] = v[1, 7, 2] = np.nan
    return u.rename("u"), v.rename("v")


def _np_gradient(f, x, axis, edge_order, periodic):
    if periodic:
        return daskgrad.gradient(
            f, x, axis=axis, edge_order=edge_order, boundary="periodic", period=360.0
        )
    return np.gradient(f, x, axis=axis, edge_order=edge_order)


def _composed(u, v, op, edge_order, periodic):
    """The spherical flux form composed from NumPy arrays as a user would write it."""
    lat, lon = u.latitude.values, u.longitude.values
    cos = np.cos(np.deg2rad(lat)).astype(u.dtype)[:, None]
    a, b = (v, u) if op == "vorticity" else (u, v)
    da_dlam = _np_gradient(a.values, lon, -1, edge_order, periodic)
    db_dphi = _np_gradient(b.values * cos, lat, -2, edge_order, False)
    total = da_dlam - db_dphi if op == "vorticity" else da_dlam + db_dphi
    factor = (180.0 / (np.pi * R)) / np.cos(np.deg2rad(lat))
    factor = np.where(np.abs(np.abs(lat) - 90.0) <= 1e-9, np.nan, factor).astype(u.dtype)
    return total * factor[:, None]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("edge_order", [1, 2])
@pytest.mark.parametrize("op", ["vorticity", "divergence"])
@pytest.mark.parametrize("regional", [False, True])
@pytest.mark.parametrize("chunks", [None, *CHUNKS])
def test_geographic_operator_bits_equal_the_composition(dtype, edge_order, op, regional, chunks):
    u, v = _winds(dtype, regional)
    expected = _composed(u, v, op, edge_order, periodic=not regional)
    if chunks is not None:
        u, v = u.chunk(CHUNKS[chunks]), v.chunk(CHUNKS[chunks])
    with raise_if_dask_computes():
        out = getattr(daskgrad, op)(u, v, geographic=True, edge_order=edge_order)
    got = out.compute().values
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected, strict=True)


@pytest.mark.parametrize("chunks", [None, *CHUNKS])
@pytest.mark.parametrize("op", ["vorticity", "divergence"])
def test_cartesian_operator_and_omit_equal_the_composition(chunks, op):
    u, v = _winds(np.float64, regional=True, nan=True)
    kw = {"dims": ("longitude", "latitude"), "nan_policy": "omit", "edge_order": 2}
    a, b = (v, u) if op == "vorticity" else (u, v)
    da_dx = daskgrad.gradient(
        a.values, a.longitude.values, axis=-1, edge_order=2, nan_policy="omit"
    )
    db_dy = daskgrad.gradient(b.values, b.latitude.values, axis=-2, edge_order=2, nan_policy="omit")
    expected = da_dx - db_dy if op == "vorticity" else da_dx + db_dy
    if chunks is not None:
        u, v = u.chunk(CHUNKS[chunks]), v.chunk(CHUNKS[chunks])
    got = getattr(daskgrad, op)(u, v, **kw).compute().values
    np.testing.assert_array_equal(got, expected, strict=True)


def test_in_memory_runs_slab_by_slab_with_the_same_bits():
    u, v = _winds(np.float32)
    u, v = (xr.concat([w] * 12, "time") for w in (u, v))  # 36 steps: several slabs
    slabs = _fused._slabs(u.shape, {1, 2}, 4)
    assert len(slabs) > 1
    whole = daskgrad.vorticity(u.chunk(-1), v.chunk(-1), geographic=True).compute()
    np.testing.assert_array_equal(daskgrad.vorticity(u, v, geographic=True).values, whole.values)


def _tasks_per_chunk(outs, inputs):
    from dask.highlevelgraph import HighLevelGraph

    def count(arrays):
        graphs = [a.__dask_graph__() for a in arrays]
        if all(isinstance(g, HighLevelGraph) for g in graphs):
            return len(HighLevelGraph.merge(*graphs))
        return len(set().union(*(dict(g) for g in graphs)))

    return (count(outs) - count(inputs)) / np.prod(inputs[0].numblocks)


@pytest.fixture
def lazy_winds():
    u, v = _winds(np.float64)
    return u.chunk({"time": 1, "latitude": 10, "longitude": 18}), v.chunk(
        {"time": 1, "latitude": 10, "longitude": 18}
    )


@pytest.mark.parametrize("geographic", [True, False])
@pytest.mark.parametrize("op", ["vorticity", "divergence"])
def test_vector_operators_take_two_tasks_per_chunk(lazy_winds, op, geographic):
    u, v = lazy_winds
    kw = {"geographic": True} if geographic else {"dims": ("longitude", "latitude")}
    out = getattr(daskgrad, op)(u, v, **kw)
    assert _tasks_per_chunk([out.data], [u.data, v.data]) == 2  # pair faces, operator


@pytest.mark.parametrize("names", [["longitude", "latitude"], ["latitude"], ["longitude"]])
def test_geographic_gradient_takes_k_plus_2_tasks_per_chunk(lazy_winds, names):
    u, _ = lazy_winds
    out = u.grad.gradient(names, geographic=True)
    k = len(names)
    assert _tasks_per_chunk([o.data for o in out.data_vars.values()], [u.data]) == (
        k + 2 if k > 1 else 2
    )


def test_mixed_dtypes_and_transposed_fields_fall_back_or_align():
    u, v = _winds(np.float64)
    ref = daskgrad.vorticity(u, v, geographic=True)
    turned = daskgrad.vorticity(u, v.transpose("longitude", "time", "latitude"), geographic=True)
    np.testing.assert_array_equal(turned.transpose(*ref.dims).values, ref.values)
    mixed = daskgrad.vorticity(u, v.astype(np.float32), geographic=True)  # composed path
    np.testing.assert_allclose(mixed.values, ref.values, rtol=1e-5, atol=1e-12)


@pytest.mark.parametrize("op", ["vorticity", "divergence"])
def test_zero_length_and_mismatched_chunks(op):
    u, v = _winds(np.float64)
    expected = getattr(daskgrad, op)(u, v, geographic=True).values
    zero = ((1, 0, 2), (10, 0, 9), (18, 0, 18))  # zero-length chunks on every axis
    got = getattr(daskgrad, op)(
        u.chunk(dict(zip(u.dims, zero, strict=True))),
        v.chunk(dict(zip(v.dims, zero, strict=True))),
        geographic=True,
    )
    assert got.chunks == zero
    np.testing.assert_array_equal(got.compute().values, expected)
    mixed = getattr(daskgrad, op)(
        u.chunk({"latitude": 7}), v.chunk({"longitude": 12}), geographic=True
    )  # v rechunked to u's chunks
    np.testing.assert_array_equal(mixed.compute().values, expected)
