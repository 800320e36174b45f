"""One test per contract error (DESIGN §2): a ValueError or TypeError whose message
names the argument, raised at call time -- for Dask input too, without computing
anything (``raise_if_dask_computes``), and for lazy Dask coordinates.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import daskgrad
from tests.helpers import raise_if_dask_computes, requires_dask

BACKENDS = ["numpy", pytest.param("dask", marks=requires_dask)]


class Coord:
    """A coordinate given to the call: NumPy for NumPy input, lazy Dask for Dask input."""

    def __init__(self, values: Any) -> None:
        self.values = np.asarray(values, dtype=np.float64)

    def build(self, backend: str) -> Any:
        if backend == "numpy":
            return self.values
        import dask.array as da

        return da.from_array(self.values, chunks=2)


def _build(value: Any, backend: str) -> Any:
    if isinstance(value, Coord):
        return value.build(backend)
    if isinstance(value, list):
        return [_build(v, backend) for v in value]
    return value


def _data(shape: tuple[int, ...], backend: str) -> Any:
    f = np.arange(float(np.prod(shape))).reshape(shape) ** 2
    if backend == "numpy":
        return f
    import dask.array as da

    return da.from_array(f, chunks=2)


X5 = Coord(np.arange(5.0) ** 1.5)
X4 = Coord([0.0, 1.0, 3.0, 4.5])
X3 = Coord([0.0, 1.0, 3.0])

# (id, shape of f, varargs, kwargs, exception, regex the message must match)
CASES = [
    # wrong number of spacings
    ("three-scalars-2d", (4, 5), (1.0, 1.0, 1.0), {}, TypeError, "spacing|varargs"),
    ("one-coordinate-2d", (4, 5), (X5,), {}, TypeError, "spacing|varargs"),
    ("two-scalars-one-axis", (4, 5), (1.0, 2.0), {"axis": 1}, TypeError, "spacing|varargs"),
    (
        "torch-list-too-long",
        (4, 5),
        (),
        {"spacing": [1.0, 2.0, 3.0]},
        (TypeError, ValueError),
        "spacing",
    ),
    (
        "torch-list-vs-dim",
        (4, 5),
        (),
        {"spacing": [1.0, 2.0], "dim": 1},
        (TypeError, ValueError),
        "spacing",
    ),
    # coordinates of the wrong length or not 1-D
    ("coord-too-short", (5,), (X3,), {}, ValueError, "spacing|varargs|coordinate"),
    ("coord-too-long", (4,), (X5,), {}, ValueError, "spacing|varargs|coordinate"),
    ("coord-wrong-axis", (4, 5), (X5, X4), {}, ValueError, "spacing|varargs|coordinate"),
    ("coord-one-element-list", (3,), ([2.0],), {}, ValueError, "spacing|varargs|coordinate"),
    ("torch-coord-too-short", (5,), (), {"spacing": [X3]}, ValueError, "spacing|coordinate"),
    ("coord-2d", (4,), (np.zeros((2, 2)),), {}, ValueError, "1-D|1d|one-dim"),
    ("torch-coord-2d", (4,), (), {"spacing": [np.zeros((2, 2))]}, ValueError, "1-D|1d|one-dim"),
    (
        "coord-bool",
        (4,),
        (np.array([0, 1, 0, 1], dtype=bool),),
        {},
        TypeError,
        "varargs: bool coordinates",
    ),
    (
        "torch-coord-bool",
        (4,),
        (),
        {"spacing": [np.array([0, 1, 1, 0], dtype=bool)]},
        TypeError,
        "spacing: bool coordinates",
    ),
    # numpy.gradient's own phrases are kept (numpy's tests look for them)
    (
        "coord-2d-numpy-phrase",
        (4,),
        (np.zeros((2, 2)),),
        {},
        ValueError,
        "distances must be either scalars or 1d",
    ),
    (
        "coord-length-numpy-phrase",
        (5,),
        (X3,),
        {},
        ValueError,
        "when 1d, distances must match the length of the corresponding dimension",
    ),
    (
        "count-numpy-phrase",
        (4, 5),
        (1.0, 1.0, 1.0),
        {},
        TypeError,
        "varargs: invalid number of arguments",
    ),
    # a Python zero with second-order edges: numpy's ZeroDivisionError (also a ValueError)
    ("zero-spacing-e2", (5,), (0.0,), {"edge_order": 2}, ZeroDivisionError, "varargs: .*zero"),
    # too few points for edge_order
    ("one-point-e1", (1,), (), {}, ValueError, "edge_order|point"),
    ("two-points-e2", (2,), (), {"edge_order": 2}, ValueError, "edge_order|point"),
    ("short-axis-2d", (4, 2), (), {"edge_order": 2}, ValueError, "edge_order|point"),
    ("short-axis-coord", (1,), (Coord([0.0]),), {}, ValueError, "edge_order|point"),
    (
        "torch-two-points-e2",
        (2, 4),
        (),
        {"dim": 0, "edge_order": 2},
        ValueError,
        "edge_order|point",
    ),
    # bad axis
    ("axis-out-of-range", (4, 5), (), {"axis": 2}, ValueError, "axis"),
    ("axis-negative-out-of-range", (4, 5), (), {"axis": -3}, ValueError, "axis"),
    ("axis-tuple-out-of-range", (4, 5), (), {"axis": (0, 5)}, ValueError, "axis"),
    ("axis-float", (4, 5), (), {"axis": 1.0}, TypeError, "axis"),
    ("dim-out-of-range", (4, 5), (), {"dim": 2}, ValueError, "dim"),
    # duplicate axis
    ("axis-repeated", (4, 5), (), {"axis": (1, 1)}, ValueError, "axis"),
    ("axis-repeated-negative", (4, 5), (), {"axis": (1, -1)}, ValueError, "axis"),
    ("dim-repeated", (4, 5), (), {"dim": (0, -2)}, ValueError, "dim"),
    # edge_order
    ("edge-order-0", (5,), (), {"edge_order": 0}, ValueError, "edge_order"),
    ("edge-order-3", (5,), (), {"edge_order": 3}, ValueError, "edge_order"),
    ("edge-order-1.5", (5,), (), {"edge_order": 1.5}, ValueError, "edge_order"),
    ("edge-order-minus-1", (5,), (), {"edge_order": -1}, ValueError, "edge_order"),
    ("edge-order-True", (5,), (), {"edge_order": True}, TypeError, "edge_order"),
    ("edge-order-np-True", (5,), (), {"edge_order": np.True_}, TypeError, "edge_order"),
    # boundary
    ("boundary-unknown", (5,), (), {"boundary": "reflect"}, ValueError, "boundary"),
    ("boundary-wrap", (5,), (), {"boundary": "wrap"}, ValueError, "boundary"),
    ("boundary-dict-unknown", (4, 5), (), {"boundary": {0: "nearest"}}, ValueError, "boundary"),
    (
        "boundary-key-not-differentiated",
        (4, 5),
        (),
        {"axis": 0, "boundary": {1: "periodic"}},
        ValueError,
        "boundary",
    ),
    (
        "boundary-key-negative-not-differentiated",
        (4, 5),
        (),
        {"axis": 1, "boundary": {-2: "periodic"}},
        ValueError,
        "boundary",
    ),
    (
        "boundary-key-out-of-range",
        (4, 5),
        (),
        {"boundary": {2: "periodic"}},
        ValueError,
        "boundary",
    ),
    # periodic coordinates without a period
    ("periodic-coords-no-period", (4,), (X4,), {"boundary": "periodic"}, ValueError, "period"),
    (
        "periodic-coords-period-other-axis",
        (4, 5),
        (X4, X5),
        {"boundary": {1: "periodic"}, "period": {0: 10.0}},
        ValueError,
        "period",
    ),
    (
        "torch-periodic-coords-no-period",
        (4,),
        (),
        {"spacing": [X4], "boundary": "periodic"},
        ValueError,
        "period",
    ),
    # zero-size axis
    ("zero-size-1d", (0,), (), {}, ValueError, "zero|size|empty"),
    ("zero-size-axis", (3, 0), (), {"axis": 1}, ValueError, "zero|size|empty"),
    ("zero-size-periodic", (0,), (), {"boundary": "periodic"}, ValueError, "zero|size|empty"),
    # the two forms do not mix
    ("varargs-and-spacing", (5,), (1.0,), {"spacing": 1.0}, TypeError, "spacing|varargs"),
    ("axis-and-dim", (4, 5), (), {"axis": 0, "dim": 0}, TypeError, "axis|dim"),
    # torch.gradient raises TypeError here; the contract allows either, naming `spacing`
    (
        "torch-mixed-number-and-coord",
        (4, 5),
        (),
        {"spacing": [1.0, X5]},
        (TypeError, ValueError),
        "spacing",
    ),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    ("shape", "varargs", "kwargs", "exc", "match"),
    [pytest.param(*c[1:], id=c[0]) for c in CASES],
)
def test_error(backend: str, shape, varargs, kwargs, exc, match) -> None:
    f = _data(shape, backend)
    varargs = tuple(_build(v, backend) for v in varargs)
    kwargs = {k: _build(v, backend) for k, v in kwargs.items()}
    if backend == "numpy":
        with pytest.raises(exc, match=match):
            daskgrad.gradient(f, *varargs, **kwargs)
        return
    with raise_if_dask_computes(), pytest.raises(exc, match=match):
        daskgrad.gradient(f, *varargs, **kwargs)


@pytest.mark.parametrize("backend", BACKENDS)
def test_axis_error_is_numpy_axis_error_or_value_error(backend: str) -> None:
    f = _data((4, 5), backend)
    with pytest.raises(ValueError, match="axis") as info:
        daskgrad.gradient(f, axis=2)
    assert isinstance(info.value, ValueError)  # np.exceptions.AxisError is one


@pytest.mark.parametrize(
    ("backend", "dtype"),
    [
        (b, d)
        for b in ("numpy", "dask")
        for d in ("datetime64[D]", "timedelta64[s]", "datetime64[ns]")
    ]
    + [("numpy", object), ("numpy", "U3")],
)
def test_unsupported_dtype(backend: str, dtype: Any) -> None:
    f = np.array([1, 2, 4, 7]).astype(dtype)
    if backend == "dask":
        da = pytest.importorskip("dask.array")
        f = da.from_array(f, chunks=2)
    with raise_if_dask_computes(), pytest.raises(TypeError, match="dtype|f:"):
        daskgrad.gradient(f)


def test_masked_array_suggests_filled() -> None:
    m = np.ma.array([1.0, 2.0, 4.0], mask=[0, 1, 0])
    with pytest.raises(TypeError, match=r"filled"):
        daskgrad.gradient(m)


def test_no_error_when_short_axis_not_differentiated() -> None:
    """The size check covers only the differentiated axes (unlike pytorch#79346)."""
    f = np.arange(10.0).reshape(5, 2) ** 2
    g = daskgrad.gradient(f, axis=0, edge_order=2)
    np.testing.assert_array_equal(g, np.gradient(f, axis=0, edge_order=2))
    (g,) = daskgrad.gradient(f, dim=0, edge_order=2)
    np.testing.assert_array_equal(g, np.gradient(f, axis=0, edge_order=2))


@pytest.mark.parametrize("n", [1, 2])
def test_short_periodic_axis_is_not_an_error(n: int) -> None:
    """edge_order does not apply to a periodic axis: any length >= 1 works."""
    f = np.arange(float(n)) ** 2 + 1
    g = daskgrad.gradient(f, edge_order=2, boundary="periodic")
    np.testing.assert_array_equal(g, np.zeros(n))


def test_errors_listed_once() -> None:
    ids = [c[0] for c in CASES]
    assert len(ids) == len(set(ids))
