"""The public array API: :func:`gradient`, dispatching on the array type."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, SupportsIndex, TypeVar, overload

import numpy as np

from . import _pint
from ._compat import array_namespace, is_dask_array
from ._plan import AxisPlan, Plan, as_array, make_plan
from ._scale import apply_scale
from ._spacing import axis_spacing
from .kernels import AxisSpec, gradient_block
from .typing import Boundary, EdgeOrder, NanPolicy

if TYPE_CHECKING:
    from dask.array import Array as _DaskArray

__all__ = ["gradient", "gradient_planned"]

# The typed forms of ``gradient`` (the overloads below): NumPy and Dask arrays come
# back as their own type; anything else array-like (lists, CuPy, torch) as ``Any``.
_ArrayT = TypeVar("_ArrayT", "np.ndarray[Any, np.dtype[Any]]", "_DaskArray")
_Axes = SupportsIndex | Sequence[SupportsIndex]
_Boundaries = Boundary | Mapping[int, Boundary]
_Period = float | Mapping[int, float] | None
# torch's spacing: a number (or 0-d array) for every dim, or one number or 1-D array per dim
_Spacing = complex | np.generic | np.ndarray[Any, np.dtype[Any]] | Sequence[Any]


@overload
def gradient(  # torch form, spacing=: a tuple
    f: _ArrayT,
    *,
    axis: _Axes | None = None,
    edge_order: EdgeOrder = 1,
    boundary: _Boundaries = "none",
    period: _Period = None,
    spacing: _Spacing,
    dim: _Axes | None = None,
    nan_policy: NanPolicy = "propagate",
) -> tuple[_ArrayT, ...]: ...
@overload
def gradient(  # torch form, dim=: a tuple
    f: _ArrayT,
    *,
    edge_order: EdgeOrder = 1,
    boundary: _Boundaries = "none",
    period: _Period = None,
    spacing: None = None,
    dim: _Axes,
    nan_policy: NanPolicy = "propagate",
) -> tuple[_ArrayT, ...]: ...
@overload
def gradient(  # NumPy form, one integer axis: one array
    f: _ArrayT,
    *varargs: Any,
    axis: SupportsIndex,
    edge_order: EdgeOrder = 1,
    boundary: _Boundaries = "none",
    period: _Period = None,
    spacing: None = None,
    dim: None = None,
    nan_policy: NanPolicy = "propagate",
) -> _ArrayT: ...
# No overload for 1-D input (one array with axis=None): NumPy's usual annotation,
# NDArray, leaves the shape open (tuple[Any, ...]), which would match a 1-D overload too.
@overload
def gradient(  # NumPy form, axis=None or a tuple: one array for one axis, else a tuple
    f: _ArrayT,
    *varargs: Any,
    axis: Sequence[SupportsIndex] | None = None,
    edge_order: EdgeOrder = 1,
    boundary: _Boundaries = "none",
    period: _Period = None,
    spacing: None = None,
    dim: None = None,
    nan_policy: NanPolicy = "propagate",
) -> _ArrayT | tuple[_ArrayT, ...]: ...
@overload
def gradient(  # lists, CuPy, torch, ...: not typed further
    f: Any,
    *varargs: Any,
    axis: _Axes | None = None,
    edge_order: EdgeOrder = 1,
    boundary: _Boundaries = "none",
    period: _Period = None,
    spacing: Any = None,
    dim: _Axes | None = None,
    nan_policy: NanPolicy = "propagate",
) -> Any: ...
def gradient(
    f: Any,
    *varargs: Any,
    axis: Any = None,
    edge_order: EdgeOrder = 1,
    boundary: Any = "none",
    period: Any = None,
    spacing: Any = None,
    dim: Any = None,
    nan_policy: NanPolicy = "propagate",
) -> Any:
    """Second-order accurate gradient of ``f``: ``numpy.gradient``'s answer on any array.

    Interior points get central differences, the ends one-sided differences of
    ``edge_order`` (or, with ``boundary="periodic"``, central differences that wrap
    around). Works on NumPy, CuPy and Dask arrays (lazy, any chunking) and on
    anything ``numpy.asarray`` accepts.

    Parameters
    ----------
    f : array_like
        The sampled values. bool and integer data give float64 results; float and
        complex data keep their dtype. datetime64/timedelta64 data is refused.
        A ``pint.Quantity`` (NumPy or Dask inside, any registry) gives Quantities in
        its units over each axis's spacing units (Quantity spacings; plain spacing is
        dimensionless), never converted or reduced; see :mod:`daskgrad._pint`.
    *varargs : scalar or 1-D array, optional
        NumPy form of the spacing: none (unit spacing), one scalar for every axis, or
        one per differentiated axis (in the order of ``axis``), each a scalar or a
        1-D coordinate array of that axis's length (NumPy, CuPy, Dask or a list).
        Coordinates with exactly equal differences use the uniform formula, as NumPy.
        Integer coordinates become float64; bool coordinates are refused (TypeError:
        almost always a mask passed by mistake).
    axis : None, int or tuple of ints, optional
        Axes to differentiate (default: all). Negative values count from the end.
    edge_order : {1, 2}, optional
        Order of the one-sided differences at the (non-periodic) ends.
    boundary : {"none", "periodic"} or dict, optional
        ``"none"``: one-sided differences at the ends (NumPy). ``"periodic"``: the
        axis wraps around (``np.roll`` semantics). A dict ``{axis: boundary}`` sets
        axes one by one; axes it leaves out are ``"none"``.
    period : scalar or dict, optional
        Length of the period of a periodic axis given by coordinates (e.g. 360 for
        longitude in degrees): the step across the seam is ``x[0] + period - x[-1]``
        (``x[0] - period - x[-1]`` for decreasing coordinates). Required there.
        Coordinates stored rolled (``180, ..., 330, 0, ..., 150`` with period 360)
        step one period on across their single jump back: the sorted grid's values.
    spacing : scalar or list, optional
        Torch form (``torch.gradient``'s ``spacing``): a scalar for every dim, one
        scalar per dim, or one 1-D coordinate array per dim (always the non-uniform
        formula, as torch). Cannot be combined with ``varargs``.
    dim : None, int or tuple of ints, optional
        Torch form of ``axis``. Cannot be combined with ``axis``.
    nan_policy : {"propagate", "omit", "raise"}, optional
        What NaN means (SciPy's names). ``"propagate"``: NumPy's answer (a NaN spreads
        to its neighbours). ``"omit"``: NaN points (``isnan``, complex included; not
        ±inf) are gaps, as land in an ocean field: along each axis every maximal run of
        valid points is differentiated as ``numpy.gradient`` differentiates that run
        alone (its coordinates; ``edge_order = min(edge_order, len(run) - 1)``; a run
        of one point gives NaN); missing points stay NaN. The formula (uniform or not)
        is chosen once per axis. On a periodic axis a run may cross the seam; a line
        without NaN is periodic as before. ``"raise"``: ValueError if ``f`` holds a NaN
        (on Dask, from ``compute``).

    Returns
    -------
    array or tuple of arrays
        NumPy form: a single array when one axis is differentiated, else a tuple in
        the order of ``axis``. Torch form (``spacing=`` or ``dim=`` given): always a
        tuple. The arrays have ``f``'s array type (Dask in, lazy Dask out with the
        same chunks and chunk type). Type checkers are told the same by overloads
        (an integer ``axis``: one array; ``spacing=``/``dim=``: a tuple; else either).

    Raises
    ------
    ValueError, TypeError
        At call time (Dask input included), naming the offending argument; the
        messages keep ``numpy.gradient``'s phrases ("invalid number of arguments",
        "distances must be either scalars or 1d", "distances must match the length
        of the corresponding dimension").
    ZeroDivisionError
        A Python-number spacing of 0 with ``edge_order=2``, as ``numpy.gradient``
        (at call time; also a ValueError).

    Warns
    -----
    RuntimeWarning
        Where ``numpy.gradient`` warns (overflow, divide by zero, invalid value),
        under the caller's ``np.errstate`` (``"raise"`` raises FloatingPointError).
        On Dask, at compute time, from the task of the block that hits it (Dask's
        schedulers run tasks in the caller's context, so its ``np.errstate`` holds
        when ``compute`` is called inside it).

    See Also
    --------
    numpy.gradient, torch.gradient, dask.array.gradient

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([-1.0, -2.0, 3.0, 4.0])
    >>> gradient(x**3)
    array([-7., 14., 36., 37.])
    >>> gradient(x**3, x)
    array([ 7.,  7., 32., 37.])
    >>> gradient(x**3, spacing=(x,))
    (array([ 7.,  7., 32., 37.]),)
    >>> gradient(np.arange(4.0) ** 2, boundary="periodic")
    array([-4.,  2.,  4., -2.])
    >>> gradient(np.array([0.0, 1.0, 4.0, np.nan, 16.0, 25.0]), nan_policy="omit")
    array([ 1.,  2.,  3., nan,  9.,  9.])
    >>> import pint
    >>> ureg = pint.UnitRegistry()
    >>> gradient(ureg.Quantity(x**3, "m"), ureg.Quantity(x, "km"))
    <Quantity([ 7.  7. 32. 37.], 'meter / kilometer')>
    """
    if _pint.has_quantity(f, varargs, spacing, period):  # magnitudes in, Quantities out
        kw = {"axis": axis, "edge_order": edge_order, "boundary": boundary, "dim": dim}
        return _pint.gradient(gradient, f, varargs, spacing, period, nan_policy=nan_policy, **kw)
    f = as_array(f)
    plan = make_plan(
        f,
        varargs,
        axis=axis,
        edge_order=edge_order,
        boundary=boundary,
        period=period,
        spacing=spacing,
        dim=dim,
        nan_policy=nan_policy,
    )
    return plan.wrap(gradient_planned(f, plan)) if plan.axes else ()


def _face(xp: Any, f: Any, axis: int, index: slice) -> Any:
    key: list[Any] = [slice(None)] * f.ndim
    key[axis] = index
    return f[tuple(key)]


def _wrapped(xp: Any, f: Any, axis: int, start: int, stop: int) -> Any:
    """Planes ``start:stop`` of the periodic axis, modulo its length (a face of a
    periodic axis; repeats the axis when it is shorter than the face)."""
    n = f.shape[axis]
    if 0 <= start and stop <= n:
        return _face(xp, f, axis, slice(start, stop))
    if -n <= start and stop <= 0:
        return _face(xp, f, axis, slice(start + n, stop + n))
    index = xp.asarray([i % n for i in range(start, stop)])
    return xp.take(f, index, axis=axis)


def axis_spec(xp: Any, f: Any, ap: AxisPlan, edge_order: int, depth: int) -> AxisSpec:
    """The kernel's view of one axis of the whole array."""
    lo = hi = None
    if ap.periodic:
        n = f.shape[ap.axis]
        lo, hi = _wrapped(xp, f, ap.axis, -depth, 0), _wrapped(xp, f, ap.axis, n, n + depth)
    if not ap.is_coord:
        return AxisSpec(ap.axis, edge_order, h=ap.spacing, lo=lo, hi=hi)
    x = xp.asarray(ap.spacing)
    h, dx = axis_spacing(
        xp, x, periodic=ap.periodic, period=ap.period, force_dx=ap.force_dx, depth=depth
    )
    return AxisSpec(ap.axis, edge_order, h=h, dx=dx, lo=lo, hi=hi)


def _gradient_in_memory(f: Any, plan: Plan) -> tuple[Any, ...]:
    xp = array_namespace(f)
    if f.dtype != plan.dtype and f.dtype.kind in "biu":
        f = f.astype(plan.dtype)
    if f.size == 0:
        return tuple(xp.empty(f.shape, dtype=plan.dtype) for _ in plan.axes)
    specs = tuple(axis_spec(xp, f, ap, plan.edge_order, plan.depth) for ap in plan.axes)
    out = gradient_block(f, specs, plan.dtype, parallel=True, nan_policy=plan.nan_policy)
    return tuple(
        apply_scale(xp, o, ap.scale, ap.scale_axis) for o, ap in zip(out, plan.axes, strict=True)
    )


def gradient_planned(f: Any, plan: Plan) -> tuple[Any, ...]:
    """Every partial derivative of ``f`` (NumPy, CuPy or Dask) as ``plan`` says, as a
    tuple: the xarray layer's entry, with a plan it has built (and scaled) itself."""
    if not plan.axes:
        return ()
    if is_dask_array(f):
        from .chunked import gradient_chunked

        return gradient_chunked(f, plan)
    return _gradient_in_memory(as_array(f), plan)
