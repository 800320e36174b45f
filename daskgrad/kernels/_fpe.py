"""The CPU's floating-point exception flags (C99 ``<fenv.h>``), for the fused kernel.

NumPy warns (or raises, per ``np.errstate``) when a ufunc raises an IEEE flag:
overflow, divide by zero, invalid value (and underflow, ignored by default). The
fused kernel evaluates NumPy's expressions element by element in NumPy's order, so
the hardware raises the same flags for the same elements; the kernel clears the
flags when it starts a block of rows and reads them when it ends (two libm calls
per block, in every thread: the flags are per thread). Where a flag that the
caller's ``np.errstate`` does not ignore went up, the block is recomputed by the
reference kernel (NumPy itself), which warns, raises or calls exactly as
``numpy.gradient`` would: that costs time only on such blocks. A NaN already in the
data raises no flag (quiet NaNs propagate silently), so NaN-holding data stays on
the fast path.

The flag values differ between CPU families; they are known for x86 and ARM and
checked once by a probe (:func:`daskgrad.kernels._numba_sweep.fpe_probe`). Where
``fetestexcept`` is missing or the probe disagrees, :data:`AVAILABLE` is False and
the kernel's caller falls back to a finiteness check of the outputs.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import platform
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = [
    "AVAILABLE",
    "FE_ALL",
    "FE_DIVBYZERO",
    "FE_INVALID",
    "FE_OVERFLOW",
    "FE_UNDERFLOW",
    "LIBM",
    "feclearexcept",
    "fetestexcept",
    "flags_to_report",
]

# (invalid, divide by zero, overflow, underflow) per CPU family (glibc/musl/macOS).
_FAMILIES = {
    "x86": (0x01, 0x04, 0x08, 0x10),
    "arm": (0x01, 0x02, 0x04, 0x08),
}
_MACHINES = {
    "x86_64": "x86",
    "amd64": "x86",
    "i386": "x86",
    "i686": "x86",
    "x86": "x86",
    "aarch64": "arm",
    "arm64": "arm",
}


def _load() -> tuple[Any, Any, tuple[int, int, int, int], str] | None:
    family = _MACHINES.get(platform.machine().lower())
    name = ctypes.util.find_library("m")
    if family is None or name is None:
        return None
    try:
        libm = ctypes.CDLL(name)
        test, clear = libm.fetestexcept, libm.feclearexcept
    except (OSError, AttributeError):
        return None
    for fn in (test, clear):
        fn.argtypes, fn.restype = [ctypes.c_int], ctypes.c_int
    return test, clear, _FAMILIES[family], name


_LOADED = _load()
#: The C math library that holds ``fetestexcept``/``feclearexcept`` (None without).
LIBM = _LOADED[3] if _LOADED else None
AVAILABLE = _LOADED is not None
fetestexcept, feclearexcept = (_LOADED[0], _LOADED[1]) if _LOADED else (None, None)
FE_INVALID, FE_DIVBYZERO, FE_OVERFLOW, FE_UNDERFLOW = _LOADED[2] if _LOADED else (1, 2, 4, 8)
FE_ALL = FE_INVALID | FE_DIVBYZERO | FE_OVERFLOW | FE_UNDERFLOW

_ERRSTATE_KEYS = (
    ("invalid", FE_INVALID),
    ("divide", FE_DIVBYZERO),
    ("over", FE_OVERFLOW),
    ("under", FE_UNDERFLOW),
)


def flags_to_report() -> int:
    """The flags the caller's ``np.errstate`` does not ignore, as a bit mask.

    Examples
    --------
    >>> with np.errstate(all="ignore"):
    ...     flags_to_report()
    0
    >>> with np.errstate(all="ignore", over="warn"):
    ...     flags_to_report() == FE_OVERFLOW
    True
    """
    err: Mapping[str, object] = np.geterr()  # a TypedDict, read with str keys
    return sum(bit for key, bit in _ERRSTATE_KEYS if err[key] != "ignore")


def disable() -> None:
    """Mark the flags as unusable (the probe found the constants wrong)."""
    global AVAILABLE
    AVAILABLE = False
