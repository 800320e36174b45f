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
