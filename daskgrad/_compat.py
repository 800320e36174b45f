"""Backend detection without importing backends (array-api-compat style), and the
one place that turns a task graph into a Dask array.

Nothing here imports dask or cupy at import time: a type check looks the module up
in ``sys.modules`` and answers ``False`` when it was never imported, which is
always right (an object of a module that was never imported cannot exist).

:func:`array_from_graph` works in both of Dask's array modes: the classic
``HighLevelGraph`` arrays and the array-expression mode
(``DASK_ARRAY__QUERY_PLANNING=True``, ``dask.array.array_expr_enabled()``). The
latter has no public constructor from a graph that keeps the inputs as
expressions, so it subclasses the private ``dask.array._array_expr._expr.ArrayExpr``
here and nowhere else (``tests/test_array_expr.py`` checks the private names it
relies on).

The other internals daskgrad needs also live here, each checked by
``tests/test_compat.py``: :func:`variable_to_numeric` (xarray's datetime-to-number
conversion, so that time derivatives equal ``differentiate``'s) and
:data:`WORKER_IMPORTS` (modules a fresh worker imports before it runs a task).
"""

from __future__ import annotations

import functools
import importlib.util
import sys
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = [
    "array_from_graph",
    "array_namespace",
    "dask_array_expr_enabled",
    "is_cupy_array",
    "is_dask_array",
    "is_torch_tensor",
    "module_available",
    "variable_to_numeric",
    "WORKER_IMPORTS",
]

#: Modules a fresh Dask worker imports before its first task. Without it a worker
#: imports zarr's array module in a task thread while its event loop unpickles
#: zarr-backed data, and Python's import locks can deadlock (``_DeadlockError``);
#: ``zarr.core.array`` is a private module path of zarr 3.
WORKER_IMPORTS: tuple[str, ...] = (
    "zarr",
    "zarr.core.array",
    "xarray",
    "daskgrad.chunked",
    "daskgrad.kernels",
    "daskgrad.kernels._numba",
)


def variable_to_numeric(var: Any, datetime_unit: str | None) -> Any:
    """Datetime/cftime ``var`` (an ``xarray.Variable``) as floats in ``datetime_unit``
    (``None``: the data's own resolution).

    xarray's own conversion (private ``Variable._to_numeric``), offset and all, so that
    a derivative along time equals ``DataArray.differentiate``'s exactly.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> t = xr.Variable("t", np.array(["2000-01-01", "2000-01-02"], "datetime64[ns]"))
    >>> variable_to_numeric(t, "h").values
    array([ 0., 24.])
    """
    return var._to_numeric(datetime_unit=datetime_unit)


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


def dask_array_expr_enabled() -> bool:
    """Whether ``dask.array`` runs in array-expression mode (imports ``dask.array``).

    Examples
    --------
    >>> dask_array_expr_enabled() in (True, False)
    True
    """
    import dask.array as da

    enabled = getattr(da, "array_expr_enabled", None)
    return bool(enabled()) if enabled is not None else False


GraphBuilder = Callable[[str, str, list[str]], dict]


def array_from_graph(
    build: GraphBuilder,
    dependencies: Sequence[Any],
    *,
    name: str,
    token: str,
    chunks: tuple[tuple[int, ...], ...],
    meta: Any,
) -> Any:
    """A Dask array whose blocks are the keys ``(name, *index)`` of a task graph.

    Parameters
    ----------
    build : callable
        ``build(name, token, dependency_names) -> dict``: the tasks this array adds
        (its output keys ``(name, *index)`` and any internal keys, which should be
        named after ``token``), referring to the blocks of ``dependencies`` as
        ``(dependency_names[i], *index)``. It is called once in classic mode and,
        in array-expression mode, whenever the graph is materialised, with the
        names the dependencies have then (optimisation may rename them).
    dependencies : sequence of dask arrays
        The arrays whose keys the tasks refer to.
    name : str
        The output name, with ``{token}`` where the token goes (e.g.
        ``"daskgrad-{token}-kernel"``).
    token : str
        A deterministic token of the computation. In array-expression mode the
        token used is derived from it and from the dependencies' names.
    chunks : tuple of tuples of int
        The output chunks.
    meta : array
        An empty array of the output's block type and dtype.

    Returns
    -------
    dask.array.Array
        Of the active mode's ``Array`` type.

    Examples
    --------
    >>> import dask.array as da
    >>> x = da.arange(4, chunks=2)
    >>> def build(name, token, deps):
    ...     return {(name, i): (np.negative, (deps[0], i)) for i in range(2)}
    >>> y = array_from_graph(build, [x], name="neg-{token}", token="t", chunks=x.chunks,
    ...                      meta=np.empty((0,), x.dtype))
    >>> y.compute()
    array([ 0, -1, -2, -3])
    """
    if dask_array_expr_enabled():
        from dask._collections import new_collection

        expr = _graph_expr_type()(build, name, token, chunks, meta, *dependencies)
        return new_collection(expr)
    import dask.array as da
    from dask.highlevelgraph import HighLevelGraph

    out = name.format(token=token)
    layer = build(out, token, [d.name for d in dependencies])
    hlg = HighLevelGraph.from_collections(out, layer, dependencies=list(dependencies))
    return da.Array(hlg, out, chunks=chunks, dtype=meta.dtype, meta=meta)


def __getattr__(name: str) -> Any:
    # ``_DaskgradGraph`` is made on first use (it subclasses a dask class); this lets
    # pickle find it by reference (distributed ships expressions to the scheduler).
    if name == "_DaskgradGraph":
        return _graph_expr_type()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@functools.cache
def _graph_expr_type() -> type:
    """The array-expression class of :func:`array_from_graph` (private Dask API),
    importable as ``daskgrad._compat._DaskgradGraph`` (so that it pickles)."""
    from dask.array._array_expr._expr import ArrayExpr
    from dask.base import tokenize

    class DaskgradGraph(ArrayExpr):
        """Tasks from a builder; the operands after ``meta`` are the dependencies."""

        _parameters = ["build", "template", "token", "chunks", "meta"]

        @functools.cached_property
        def _graph_token(self) -> str:
            deps = [d._name for d in self.dependencies()]
            return tokenize(self.operand("token"), deps)

        @functools.cached_property
        def _name(self) -> str:
            return self.operand("template").format(token=self._graph_token)

        def __dask_tokenize__(self) -> str:
            return self._name

        @functools.cached_property
        def _meta(self) -> Any:
            return self.operand("meta")

        def _layer(self) -> dict:
            deps = [d._name for d in self.dependencies()]
            return self.operand("build")(self._name, self._graph_token, deps)

    DaskgradGraph.__name__ = DaskgradGraph.__qualname__ = "_DaskgradGraph"
    DaskgradGraph.__module__ = __name__
    return DaskgradGraph
