"""The internals of dask/zarr/xarray that ``daskgrad._compat`` relies on (outside the
array-expr class, checked in ``test_array_expr.py``). A failure here means a release
changed one of them: update ``_compat.py``, not the callers."""

from __future__ import annotations

import importlib
import inspect

import numpy as np
import pytest
import xarray as xr

from daskgrad import _compat


@pytest.mark.parametrize("module", _compat.WORKER_IMPORTS)
def test_worker_imports_exist(module):
    """Every module the worker plugin preloads exists (it suppresses ImportError, so a
    renamed module would silently bring the import deadlock back)."""
    importlib.import_module(module)


def test_worker_plugin_uses_the_compat_list():
    from daskgrad._connect import _imports_plugin

    plugin = _imports_plugin()
    cell_values = [c.cell_contents for c in plugin.setup.__closure__ or ()]
    assert _compat.WORKER_IMPORTS in cell_values


def test_variable_to_numeric_is_still_private_api():
    assert "datetime_unit" in inspect.signature(xr.Variable._to_numeric).parameters


@pytest.mark.parametrize("unit", ["h", "s", "D", None])
def test_variable_to_numeric_datetime64(unit):
    """Offset at the earliest time, NaT as NaN, values in ``unit`` (ns when None)."""
    times = np.array(["2000-01-02T06", "2000-01-01", "NaT", "2000-03-01"], "datetime64[ns]")
    got = _compat.variable_to_numeric(xr.Variable("t", times), unit).values
    delta = (times - times[1]) / np.timedelta64(1, unit or "ns")
    np.testing.assert_array_equal(got, delta)
    assert got.dtype == np.float64


def test_variable_to_numeric_cftime():
    cftime = pytest.importorskip("cftime")
    times = np.array([cftime.DatetimeNoLeap(2001, 1, d) for d in (1, 2, 5)])
    got = _compat.variable_to_numeric(xr.Variable("t", times), "D").values
    np.testing.assert_array_equal(got, [0.0, 1.0, 4.0])


def test_time_derivative_matches_xarray_differentiate():
    """The reason for the private call: equal to xarray's own ``differentiate``."""
    import daskgrad.xarray  # noqa: F401  (registers .grad)

    t = np.array(["2000-01-01", "2000-01-02T03", "2000-01-04", "2000-01-04T01"], "M8[ns]")
    da = xr.DataArray(np.array([1.0, 4.0, 2.0, 7.0]), coords={"t": t}, dims="t")
    for unit in ("h", "D"):
        np.testing.assert_array_equal(
            da.grad.differentiate("t", datetime_unit=unit).values,
            da.differentiate("t", datetime_unit=unit).values,
        )
