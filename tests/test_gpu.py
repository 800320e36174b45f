"""CuPy and Dask-with-CuPy-chunks backends of the oracle table (skipped without a GPU).

CuPy in → CuPy out; Dask with CuPy chunks → lazy Dask whose ``_meta`` is CuPy;
values equal ``numpy.gradient`` / the ``np.roll`` reference within rtol 1e-12;
the reference kernel runs on CuPy arrays as it does on ``array_api_strict``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import daskgrad
from tests.helpers import has_dask, raise_if_dask_computes, requires_cupy, requires_dask
from tests.oracles import COMPARISONS, Case, make_cases

pytestmark = [pytest.mark.gpu, requires_cupy]
cupy = pytest.importorskip("cupy")

RTOL = 1e-12


def _gpu_cases() -> list[Case]:
    """The NumPy rows of the table (every form, axis, edge order, boundary) and the
    Dask rows of two chunkings, to be run with CuPy data."""
    keep = []
    for c in make_cases(has_dask):
        if c.backend == "numpy" or (
            c.backend in ("dask", "dask-coords")
            and c.chunks is not None
            and c.chunks[0] in ((1, 4, 5), (5, 5), (1,) * 5, (1, 4))
        ):
            keep.append(c)
    return keep


def _to_gpu(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        return cupy.asarray(v)
    if type(v).__module__.startswith("dask"):
        return v.map_blocks(cupy.asarray, dtype=v.dtype, meta=cupy.empty((0,), v.dtype))
    return v


def _expected(case: Case) -> list[np.ndarray]:
    name = "numpy.gradient" if case.boundary == "none" else "np.roll periodic"
    return COMPARISONS[name].func(case)


@pytest.mark.parametrize("case", _gpu_cases(), ids=lambda c: c.id)
def test_cupy_table(case: Case) -> None:
    f = _to_gpu(case.f())
    varargs = tuple(_to_gpu(v) for v in case.varargs())
    kwargs = case.kwargs()
    if case.backend == "numpy":
        out = daskgrad.gradient(f, *varargs, **kwargs)
        outs = out if isinstance(out, tuple) else (out,)
        assert all(isinstance(o, cupy.ndarray) for o in outs)
        got = [cupy.asnumpy(o) for o in outs]
    else:
        import dask.array as da

        with raise_if_dask_computes():
            out = daskgrad.gradient(f, *varargs, **kwargs)
        outs = out if isinstance(out, tuple) else (out,)
        for o in outs:
            assert isinstance(o, da.Array)
            assert o.chunks == f.chunks
            assert isinstance(o._meta, cupy.ndarray)
        got = [cupy.asnumpy(o) for o in da.compute(*outs)]
    for g, e in zip(got, _expected(case), strict=True):
        np.testing.assert_allclose(g, e, rtol=RTOL, atol=0)


@pytest.mark.parametrize("edge_order", [1, 2])
def test_cupy_torch_form(edge_order: int) -> None:
    f = np.random.default_rng(0).standard_normal((5, 6))
    xs = [np.cumsum(np.linspace(0.5, 1.5, n)) for n in f.shape]
    out = daskgrad.gradient(
        cupy.asarray(f), spacing=[cupy.asarray(x) for x in xs], edge_order=edge_order
    )
    assert isinstance(out, tuple) and all(isinstance(o, cupy.ndarray) for o in out)
    for g, e in zip(out, np.gradient(f, *xs, edge_order=edge_order), strict=True):
        np.testing.assert_allclose(cupy.asnumpy(g), e, rtol=RTOL, atol=0)


@pytest.mark.parametrize("dtype", ["int8", "uint8", "float16", "float32", "complex128"])
def test_cupy_dtypes(dtype: str) -> None:
    f = np.array([3, 1, 4, 1, 5, 9, 2, 6]).astype(dtype)
    g = daskgrad.gradient(cupy.asarray(f))
    expected = np.gradient(f if f.dtype.kind in "fc" else f.astype(np.float64))
    assert g.dtype == expected.dtype
    np.testing.assert_allclose(cupy.asnumpy(g), expected, rtol=1e-3 if dtype == "float16" else 1e-6)


def test_cupy_errors_at_call_time() -> None:
    with pytest.raises(ValueError, match="edge_order|point"):
        daskgrad.gradient(cupy.zeros(2), edge_order=2)
    with pytest.raises(ValueError, match="spacing|varargs|coordinate"):
        daskgrad.gradient(cupy.zeros(5), cupy.arange(4.0))


def test_reference_kernel_on_cupy() -> None:
    from daskgrad.kernels import AxisSpec, reference_gradient_block

    f = np.random.default_rng(1).standard_normal((6, 7))
    x = np.cumsum(np.linspace(0.5, 1.5, 7))
    specs = (AxisSpec(0, 2, h=0.7), AxisSpec(1, 1, dx=cupy.asarray(np.diff(x))))
    out = reference_gradient_block(cupy.asarray(f), specs, np.float64)
    assert all(isinstance(o, cupy.ndarray) for o in out)
    np.testing.assert_allclose(
        cupy.asnumpy(out[0]), np.gradient(f, 0.7, axis=0, edge_order=2), rtol=RTOL
    )
    np.testing.assert_allclose(cupy.asnumpy(out[1]), np.gradient(f, x, axis=1), rtol=RTOL)


@requires_dask
def test_dask_cupy_meta_stays_cupy_for_every_output() -> None:
    import dask.array as da

    f = da.from_array(np.random.default_rng(2).standard_normal((6, 5, 4)), chunks=(1, 3, 4))
    f = f.map_blocks(cupy.asarray, dtype=f.dtype, meta=cupy.empty((0, 0, 0)))
    with raise_if_dask_computes():
        outs = daskgrad.gradient(f, edge_order=2, boundary={2: "periodic"})
    assert all(isinstance(o._meta, cupy.ndarray) for o in outs)
    assert all(isinstance(b, cupy.ndarray) for b in da.compute(*outs))
