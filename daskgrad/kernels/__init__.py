"""The stencil on ONE in-memory block: all requested axes in one call.

``gradient_block(f, specs, dtype, parallel=False)`` is the one interface the upper
layers use. It picks the implementation by the block's namespace:

- NumPy blocks of float32/float64 go to the fused numba kernel
  (``daskgrad.kernels._numba``) once it is ready in this process, threaded only
  when ``parallel=True`` (in-memory calls; never inside Dask worker threads);
  until then to the reference kernel, while the fused one is got ready without
  making a caller wait for numba's import or a compile (``_ready.py``, ``_warm.py``;
  ``DASKGRAD_KERNEL=auto|numba|reference`` chooses: ``auto`` by default);
- everything else (CuPy, complex, float16, any array-API namespace) goes to the
  reference kernel in ``_reference.py``, which is also the oracle for the fast one:
  both give the same bits, so which one ran never shows in a result.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from . import _ready, _reference
from ._omit import check_no_nan, omit_fixup
from ._spec import AxisSpec, face_len

__all__ = [
    "AxisSpec",
    "check_no_nan",
    "face_len",
    "gradient_block",
    "kernel_state",
    "omit_fixup",
    "prepare_fast_kernel",
    "reference_gradient_block",
]

reference_gradient_block = _reference.gradient_block


_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def kernel_state() -> str:
    """Which kernel NumPy float blocks get in this process now.

    ``"loaded"`` (the fused numba kernel), ``"pending"`` (the reference, while a
    warm-up started by this process compiles the fused one), ``"unavailable"``
    (numba missing, or unable to cache here) or ``"reference"``.

    Examples
    --------
    >>> kernel_state() in ("loaded", "pending", "unavailable", "reference")
    True
    """
    return _ready.state()


def prepare_fast_kernel() -> bool:
    """Load the fused kernel in this process now, compiling it if numba's cache is
    cold (seconds); True when it is loaded, False without numba.

    For benchmarks and long-running services that want the fast kernel from the
    first call on (``DASKGRAD_KERNEL=numba`` does it at the first call). On a cold
    cache a one-off ``python -m daskgrad.kernels._warm`` compiles it for every
    later process of the machine.

    Examples
    --------
    >>> import os
    >>> if os.environ.get("DASKGRAD_KERNEL") == "numba":  # compiles on a cold cache
    ...     assert prepare_fast_kernel()
    """
    return _ready.load() is not None


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
    fast = _ready.fast_kernel()
    if fast is not None:
        out = fast.try_gradient_block(f, specs, dtype, parallel=parallel)
        if out is not None:
            return out
        return _reference.gradient_block(f, specs, dtype)
    if type(f) is not np.ndarray or f.dtype not in _FLOATS:
        return _reference.gradient_block(f, specs, dtype)  # never the fused kernel's
    start = time.perf_counter()
    out = _reference.gradient_block(f, specs, dtype)
    if _ready.kernel_mode() == "auto":
        _ready.after_reference(f.size, time.perf_counter() - start)
    return out
