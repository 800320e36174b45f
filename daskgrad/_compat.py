"""Backend detection without importing backends (array-api-compat style).

Nothing here imports dask or cupy: a type check looks the module up in
``sys.modules`` and answers ``False`` when it was never imported, which is
always right (an object of a module that was never imported cannot exist).
"""

from __future__ import annotations

import importlib.util
import sys
from typing import Any

import numpy as np

__all__ = [
    "array_namespace",
    "is_cupy_array",
    "is_dask_array",
    "is_torch_tensor",
    "module_available",
]


def module_available(name: str) -> bool:
    """Return whether module ``name`` can be imported, without importing it.

    Examples
    --------
    >>> module_available("numpy")
    True
    >>> module_available("no_such_module_here")
    False
    """
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _isinstance_of(obj: Any, modname: str, clsname: str) -> bool:
    mod = sys.modules.get(modname)
    if mod is None:
        return False
    cls = getattr(mod, clsname, None)
    return cls is not None and isinstance(obj, cls)


def is_dask_array(obj: Any) -> bool:
    """Whether ``obj`` is a ``dask.array.Array`` (False if dask was never imported).

    Examples
    --------
    >>> is_dask_array(np.zeros(3))
    False
    """
    return _isinstance_of(obj, "dask.array", "Array")


def is_cupy_array(obj: Any) -> bool:
    """Whether ``obj`` is a ``cupy.ndarray`` (False if cupy was never imported).

    Examples
    --------
    >>> is_cupy_array(np.zeros(3))
    False
    """
    return _isinstance_of(obj, "cupy", "ndarray")


def is_torch_tensor(obj: Any) -> bool:
    """Whether ``obj`` is a ``torch.Tensor`` (False if torch was never imported).

    Examples
    --------
    >>> is_torch_tensor([1.0, 2.0])
    False
    """
    return _isinstance_of(obj, "torch", "Tensor")


def array_namespace(*arrays: Any) -> Any:
    """The array namespace of in-memory ``arrays``: ``cupy`` if any is a CuPy array,
    the ``__array_namespace__`` of an array that has one (e.g. ``array_api_strict``),
    else ``numpy``.

    Examples
    --------
    >>> array_namespace(np.zeros(2)) is np
    True
    """
    for a in arrays:
        if is_cupy_array(a):
            import cupy

            return cupy
    for a in arrays:
        if a is not None and not isinstance(a, np.ndarray | np.generic):
            get_ns = getattr(a, "__array_namespace__", None)
            if get_ns is not None:
                return get_ns()
    return np
