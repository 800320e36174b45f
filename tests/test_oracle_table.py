"""The oracle table: every backend × chunking × spacing form × axis × edge_order ×
boundary, against every oracle of :data:`tests.oracles.COMPARISONS` that applies.

Where the oracle is ``numpy.gradient`` (no periodic axis, float64 data) the
results must be bit-identical (``assert_array_equal``), on NumPy input and on
every chunking; against the other oracles (``np.roll`` periodic reference,
``dask.array.gradient``, ``torch.gradient``) within rtol 1e-12.
"""

from __future__ import annotations

import numpy as np
import pytest

import daskgrad
from tests.helpers import has_dask, has_torch, raise_if_dask_computes
from tests.oracles import COMPARISONS, Case, make_cases

RTOL = 1e-12
_SHORT = {
    "numpy.gradient": "np",
    "np.roll periodic": "roll",
    "dask.array.gradient": "da",
    "torch.gradient": "torch",
}
_HAS = {"dask": has_dask, "torch": has_torch, None: True}

PARAMS = [
    pytest.param(case, name, id=f"{_SHORT[name]}-{case.id}")
    for case in make_cases(has_dask)
    for name, oracle in COMPARISONS.items()
    if _HAS[oracle.requires] and oracle.applies(case)
]


def _run(case: Case) -> tuple[object, list[np.ndarray]]:
    """Call daskgrad.gradient on the case; check the result's type and laziness."""
    f = case.f()
    if case.backend == "numpy":
        result = daskgrad.gradient(f, *case.varargs(), **case.kwargs())
        return result, [np.asarray(r) for r in _as_list(result, case)]
    import dask
    import dask.array as da

    with raise_if_dask_computes():
        result = daskgrad.gradient(f, *case.varargs(), **case.kwargs())
    outs = _as_list(result, case)
    for r in outs:
        assert isinstance(r, da.Array)
        assert r.chunks == f.chunks
        assert r.dtype == np.float64
        assert type(r._meta) is np.ndarray
    return result, [np.asarray(r) for r in dask.compute(*outs)]


def _as_list(result: object, case: Case) -> list:
    if len(case.axes) == 1:
        assert not isinstance(result, tuple | list), "one axis: NumPy form returns one array"
        return [result]
    assert isinstance(result, tuple), "several axes: NumPy form returns a tuple"
    assert len(result) == len(case.axes)
    return list(result)


@pytest.mark.parametrize(("case", "oracle"), PARAMS)
def test_oracle_table(case: Case, oracle: str) -> None:
    _, actual = _run(case)
    expected = COMPARISONS[oracle].func(case)
    assert len(actual) == len(expected)
    for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
        assert a.shape == e.shape
        assert a.dtype == np.float64
        if COMPARISONS[oracle].exact:
            np.testing.assert_array_equal(a, e, err_msg=f"axis #{i}: not bit-identical")
        else:
            np.testing.assert_allclose(a, e, rtol=RTOL, atol=0, err_msg=f"axis #{i}")


def test_table_size() -> None:
    """The table stays a few thousand cases (numbagg style, under the time budget)."""
    assert 500 < len(PARAMS) < 4000


# SEMANTICS §6, the NumPy-form cases (exact outputs of numpy 2.4.6), on NumPy and on
# Dask in chunks of 1 and 2 (with NumPy and with lazy Dask coordinates).
F6 = [1.0, 2.0, 4.0, 7.0, 11.0, 16.0]
X6 = [0.0, 1.0, 1.5, 3.5, 4.0, 6.0]
F31 = [
    0.6066357757671799,
    0.7294965609839984,
    0.5436249914654229,
    0.9350724237877682,
    0.8158535541215322,
]
NAN, INF = np.nan, np.inf
SEMANTICS_CASES = [
    ("1", F6, (), {}, [1.0, 1.5, 2.5, 3.5, 4.5, 5.0]),
    ("1-h2", F6, (2,), {}, [0.5, 0.75, 1.25, 1.75, 2.25, 2.5]),
    ("2", F6, (X6,), {}, [1.0, 2.9999999999999996, 3.5, 6.700000000000001, 6.899999999999999, 2.5]),
    (
        "3",
        F6,
        (X6,),
        {"edge_order": 2},
        [-1.0, 2.9999999999999996, 3.5, 6.700000000000001, 6.899999999999999, -1.8999999999999968],
    ),
    ("4", [[1, 2, 6], [3, 4, 5]], (), {}, ([[2, 2, -1], [2, 2, -1]], [[1, 2.5, 4], [1, 1, 1]])),
    (
        "5",
        [[1, 2, 6], [3, 4, 5]],
        (2.0, [1, 1.5, 3.5]),
        {},
        ([[1, 1, -0.5], [1, 1, -0.5]], [[2, 2, 2], [2, 1.6999999999999993, 0.5]]),
    ),
    ("6-e1", [0, 1, 4, 9, 16], (), {}, [1, 2, 4, 6, 7]),
    ("6-e2", [0, 1, 4, 9, 16], (), {"edge_order": 2}, [0, 2, 4, 6, 8]),
    (
        "7",
        [0, 4, 9, 36, 64],
        ([0, 2, 3, 6, 8],),
        {"edge_order": 2},
        [0, 4, 6, 12, 15.999999999999996],
    ),
    (
        "15",
        [[1, 1], [3, 4]],
        (2, 3),
        {"axis": (1, 0)},
        ([[0, 0], [0.5, 0.5]], [[0.6666666666666666, 1], [0.6666666666666666, 1]]),
    ),
    ("24", [0, 1, NAN, 3, 4, 5], (), {}, [1, NAN, 1, NAN, 1, 1]),
    ("24-e2", [0, 1, NAN, 3, 4, 5], (), {"edge_order": 2}, [NAN, NAN, 1, NAN, 1, 1]),
    ("25-uniform-x", [0, 1, NAN, 3, 4], ([0.0, 1, 2, 3, 4],), {}, [1, NAN, 1, NAN, 1]),
    ("25-nonuniform-x", [0, 1, NAN, 3, 4], ([0.0, 1, 2, 3, 5],), {}, [1, NAN, NAN, NAN, 0.5]),
    ("26", [0, INF, 2, 3], (), {}, [INF, 1, -INF, 1]),
    ("27", [1, 2, 3, 4], ([0.0, 1, 1, 2],), {}, [1, NAN, NAN, 1]),
    ("27-e2", [1, 2, 3, 4], ([0.0, 1, 1, 2],), {"edge_order": 2}, [NAN] * 4),
    ("28-equal-x", [1, 2, 3], ([1.0, 1, 1],), {}, [INF, INF, INF]),
    ("28-zero-h", [1, 2, 2], (0.0,), {}, [INF, INF, NAN]),
    ("29-negative-h", [1, 4, 9], (-1.0,), {}, [-3, -4, -5]),
    ("29-decreasing-x", [0, 1, 4, 9], ([0.0, -1, -2, -3],), {}, [-1, -2, -4, -5]),
    (
        "30-x",
        [0, 1, 4, 9],
        ([0, 0.1, 0.2, 0.3],),
        {},
        [10.0, 19.999999999999996, 40.0, 50.000000000000014],
    ),
    ("30-h", [0, 1, 4, 9], (0.1,), {}, [10, 20, 40, 50]),
    ("31", F31, (0.7,), {"edge_order": 2}, np.gradient(np.array(F31), 0.7, edge_order=2)),
    ("32", [1, 3], ([0.0, 2],), {}, [1, 1]),
    ("34-axis-tuple", [[1, 2], [4, 8]], (), {"axis": (0,)}, [[3, 6], [3, 6]]),
    ("42-list-x", [1, 4, 9], ([0, 1, 3],), {}, [3.0, 2.8333333333333335, 2.5]),
    ("43-0d-h", [1, 4, 9], (np.array(2.0),), {}, [1.5, 2, 2.5]),
    (
        "45",
        np.arange(24.0).reshape(2, 3, 4) ** 2,
        (),
        {"axis": -1},
        np.gradient(np.arange(24.0).reshape(2, 3, 4) ** 2, axis=-1),
    ),
    ("46-chunks-of-2-e2", [1, 4, 9, 16, 25, 36], (), {"edge_order": 2}, [2, 4, 6, 8, 10, 12]),
    # the same NaN data on a periodic axis with evenly spaced coordinates (seam
    # included): NumPy form takes the uniform formula, so g[2] stays finite
    (
        "periodic-uniform-x",
        [0, 1, NAN, 3, 4],
        ([0.0, 1, 2, 3, 4],),
        {"boundary": "periodic", "period": 5.0},
        [-1.5, NAN, 1, NAN, -1.5],
    ),
]
SEMANTICS_BACKENDS = ["numpy"] + (["dask-1", "dask-2", "dask-coords"] if has_dask else [])


def _semantics_inputs(f: object, varargs: tuple, backend: str) -> tuple[object, tuple]:
    f = np.asarray(f)
    if backend == "numpy":
        return f, varargs
    import dask.array as da

    chunks = 1 if backend == "dask-1" else 2
    fd = da.from_array(f, chunks=chunks)
    if backend == "dask-coords":
        varargs = tuple(
            da.from_array(np.asarray(v, dtype=float), chunks=2) if np.ndim(v) == 1 else v
            for v in varargs
        )
    return fd, varargs


@pytest.mark.parametrize("backend", SEMANTICS_BACKENDS)
@pytest.mark.parametrize(
    ("f", "varargs", "kwargs", "expected"),
    [pytest.param(*c[1:], id=f"case{c[0]}") for c in SEMANTICS_CASES],
)
def test_semantics_case(backend: str, f, varargs, kwargs, expected) -> None:
    f, varargs = _semantics_inputs(f, varargs, backend)
    with np.errstate(all="ignore"), raise_if_dask_computes():
        out = daskgrad.gradient(f, *varargs, **kwargs)
    single = not isinstance(expected, tuple)
    assert isinstance(out, tuple) != single, "one axis -> one array, several -> a tuple"
    outs, exps = ((out,), (expected,)) if single else (out, expected)
    if backend != "numpy":
        import dask

        with np.errstate(all="ignore"):
            outs = dask.compute(*outs)  # np.asarray of a lazy array: array-expr mode lacks it
    with np.errstate(all="ignore"):
        got = [np.asarray(o) for o in outs]
    for g, e in zip(got, exps, strict=True):
        assert g.dtype == np.float64
        np.testing.assert_array_equal(g, np.asarray(e, dtype=np.float64))
