"""The stencil on ONE in-memory block: all requested axes in one call.

``gradient_block(f, specs, dtype, parallel=False)`` is the one interface the upper
layers use. It picks the implementation by the block's namespace:

- NumPy blocks of float32/float64 go to the fused numba kernel when numba is
  installed (``daskgrad.kernels._numba``), threaded only when ``parallel=True``
  (in-memory calls; never inside Dask worker threads);
- everything else (CuPy, complex, float16, any array-API namespace) goes to the
  reference kernel in ``_reference.py``, which is also the oracle for the fast one.
"""

from __future__ import annotations

from typing import Any

from . import _reference
from ._omit import check_no_nan, omit_fixup
from ._spec import AxisSpec, face_len

__all__ = [
    "AxisSpec",
    "check_no_nan",
    "face_len",
    "gradient_block",
    "omit_fixup",
    "reference_gradient_block",
]

reference_gradient_block = _reference.gradient_block


def _fast_kernel() -> Any:
    """The numba kernel module, or None when numba is not installed."""
    try:
        from . import _numba
    except ImportError:
        return None
    return _numba


def gradient_block(
    f: Any,
    specs: tuple[AxisSpec, ...],
    dtype: Any,
    *,
    parallel: bool = False,
    nan_policy: str = "propagate",
) -> tuple[Any, ...]:
    """All partial derivatives of block ``f``, one output array per spec.

    ``nan_policy``: ``"propagate"`` (NumPy's stencil), ``"omit"`` (NaN points are
    gaps: ``_omit.py``; faces of ``edge_order`` planes), ``"raise"`` (ValueError if
    ``f`` holds a NaN).

    Examples
    --------
    >>> import numpy as np
    >>> f = np.array([1.0, 2.0, 4.0, 7.0])
    >>> gradient_block(f, (AxisSpec(0, 1, h=1.0),), f.dtype)[0]
    array([1. , 1.5, 2.5, 3. ])
    """
    xp = None
    if nan_policy != "propagate":
        from daskgrad._compat import array_namespace

        xp = array_namespace(f)
    if nan_policy == "raise":
        check_no_nan(xp, f)
    out = _propagate(f, specs, dtype, parallel)
    if nan_policy == "omit":
        for spec, o in zip(specs, out, strict=True):
            omit_fixup(xp, f, spec, o)
    return out


def _propagate(f: Any, specs: tuple[AxisSpec, ...], dtype: Any, parallel: bool) -> Any:
    fast = _fast_kernel()
    if fast is not None:
        out = fast.try_gradient_block(f, specs, dtype, parallel=parallel)
        if out is not None:
            return out
    return _reference.gradient_block(f, specs, dtype)
