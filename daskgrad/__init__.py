"""daskgrad: ``numpy.gradient``'s answer on arrays of any size.

``import daskgrad`` imports NumPy only (and xarray, to register the ``grad``
accessor, when xarray is installed); Dask is imported when a Dask array is seen,
CuPy when a CuPy array is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._compat import module_available
from .api import gradient

if TYPE_CHECKING:  # imported lazily (module __getattr__), typed for checkers
    from .vector import divergence, vorticity

__version__ = "0.1.0"
__all__ = ["__version__", "divergence", "gradient", "vorticity"]

if module_available("xarray"):
    try:
        from . import xarray as _xarray_accessor  # noqa: F401  (registers `.grad`)
    except ImportError:  # pragma: no cover - the accessor module is not there yet
        pass


def __dir__() -> list[str]:
    # the lazily imported names too (divergence, vorticity), for dir() and completion
    return sorted(set(globals()) | set(__all__))


def __getattr__(name: str) -> Any:
    if name in ("divergence", "vorticity"):
        from . import vector

        return getattr(vector, name)
    raise AttributeError(f"module 'daskgrad' has no attribute {name!r}")
