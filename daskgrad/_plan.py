"""Validate and normalise the arguments of ``gradient`` once, into a :class:`Plan`.

Every error names the argument it is about and what was expected. Nothing here
computes on the data: shapes, lengths and dtypes are known without computing,
Dask input included.
"""

from __future__ import annotations

import numbers
import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._compat import is_cupy_array, is_dask_array, is_torch_tensor
from .typing import NanPolicy

__all__ = [
    "AxisPlan",
    "Plan",
    "NanPolicy",
    "ZeroSpacingError",
    "as_array",
    "check_nan_policy",
    "check_uniform_period",
    "make_plan",
    "output_dtype",
]

BOUNDARIES = ("none", "periodic")
NAN_POLICIES = ("propagate", "omit", "raise")


class ZeroSpacingError(ZeroDivisionError, ValueError):
    """A Python-number spacing of zero with ``edge_order=2``.

    ``numpy.gradient`` raises ``ZeroDivisionError`` there (its edge coefficients
    are ``-1.5 / h`` in Python arithmetic); this is one too, and a ValueError,
    raised at call time (Dask input included). A NumPy zero (``np.float64(0)``)
    is not an error: NumPy's answer, with its RuntimeWarnings.
    """


@dataclass(frozen=True)
class AxisPlan:
    """One differentiated axis.

    ``spacing`` is a scalar or a 1-D coordinate array (NumPy, CuPy or Dask) whose
    integer dtype has already been cast to float64; ``period`` is the length of the
    period of a periodic axis with coordinates (else None); ``force_dx`` asks for
    the non-uniform formula even for evenly spaced coordinates (torch semantics).

    ``scale`` (the xarray layer's geographic metric, never set by ``gradient``'s own
    arguments) is multiplied into this axis's derivative inside the kernel's task, in
    place: a scalar, or with ``scale_axis`` a 1-D NumPy/CuPy array along that axis of
    ``f`` (each block gets its segment, as it gets its coordinates).
    """

    axis: int
    spacing: Any
    is_coord: bool
    periodic: bool
    period: Any = None
    force_dx: bool = False
    scale: Any = None
    scale_axis: int | None = None


@dataclass(frozen=True)
class Plan:
    """The normalised call: axes in the caller's order, edge order, output dtype, and
    what NaN means (``nan_policy``)."""

    shape: tuple[int, ...]
    axes: tuple[AxisPlan, ...]
    edge_order: int
    dtype: np.dtype
    single: bool
    nan_policy: str = "propagate"

    @property
    def depth(self) -> int:
        """Planes a block reads from each neighbour: 2 where ``"omit"`` with
        ``edge_order=2`` must see whether a run goes on for two more points."""
        return 2 if self.nan_policy == "omit" and self.edge_order == 2 else 1

    def wrap(self, results: Sequence[Any]) -> Any:
        """Return one array (NumPy form, one axis) or a tuple of them."""
        return results[0] if self.single else tuple(results)


def output_dtype(dtype: Any) -> np.dtype:
    """NumPy's output dtype: bool and integers become float64; inexact types stay.

    Examples
    --------
    >>> output_dtype(np.int8), output_dtype(np.float32)
    (dtype('float64'), dtype('float32'))
    """
    dtype = np.dtype(dtype)
    if dtype.kind in "biu":
        return np.dtype(np.float64)
    if dtype.kind in "fc":
        return dtype
    raise TypeError(
        f"f: cannot differentiate data of dtype {dtype}; expected bool, integer, float or "
        "complex (convert datetime64/timedelta64 data to numbers first)"
    )


def as_array(f: Any) -> Any:
    """``f`` as an array of a supported type: Dask and CuPy arrays are kept,
    anything else goes through ``numpy.asarray`` (lists, torch CPU tensors, ...)."""
    if is_dask_array(f) or is_cupy_array(f):
        return f
    if isinstance(f, np.ma.MaskedArray):
        raise TypeError(
            "f: masked arrays are not supported; pass f.filled(np.nan) with "
            "nan_policy='omit' (masked points become gaps: each run of valid points is "
            "differentiated on its own)"
        )
    if is_torch_tensor(f):
        f = f.detach().cpu()
    return np.asarray(f)


def _unwrap_0d(value: Any) -> Any:
    """A 0-d NumPy array as its scalar (``np.array(1)`` -> ``np.int64(1)``), as NumPy
    accepts it wherever it takes an int; anything else unchanged."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return value[()]
    return value


def _normalize_axes(axes_arg: Any, ndim: int, name: str) -> tuple[tuple[int, ...], bool]:
    """Axes as non-negative ints, and whether a single int was given.

    Python and NumPy integers and 0-d integer arrays are accepted, alone or in a
    tuple, list or 1-D array (as ``numpy.gradient``); bools and floats are not.
    """
    if axes_arg is None:
        return tuple(range(ndim)), False
    axes_arg = _unwrap_0d(axes_arg)
    scalar = not isinstance(axes_arg, Sequence | np.ndarray)
    items = [axes_arg] if scalar else [_unwrap_0d(a) for a in axes_arg]
    out = []
    for a in items:
        if isinstance(a, bool | np.bool_) or not isinstance(a, numbers.Integral):
            raise TypeError(f"{name}: expected an int or a tuple of ints, got {a!r}")
        a = operator.index(a)
        if not -ndim <= a < ndim:
            raise np.exceptions.AxisError(
                f"{name}: {a} is out of bounds for an array of dimension {ndim}"
            )
        out.append(a % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"{name}: repeated axis in {axes_arg!r}")
    return tuple(out), scalar


def _check_edge_order(edge_order: Any) -> int:
    edge_order = _unwrap_0d(edge_order)
    if isinstance(edge_order, bool | np.bool_) or not isinstance(edge_order, numbers.Real):
        raise TypeError(f"edge_order: expected 1 or 2, got {edge_order!r}")
    if edge_order not in (1, 2):
        raise ValueError(f"edge_order: expected 1 or 2, got {edge_order!r}")
    return int(float(edge_order))  # a Real (1, 2.0, np.int64(2)); typeshed has no int(Real)


def check_nan_policy(nan_policy: Any) -> str:
    """``nan_policy`` if it is one of :data:`NAN_POLICIES` (case-sensitive), else ValueError.

    Examples
    --------
    >>> check_nan_policy("omit")
    'omit'
    >>> check_nan_policy("Omit")
    Traceback (most recent call last):
    ...
    ValueError: nan_policy: expected 'propagate', 'omit' or 'raise', got 'Omit'
    """
    if not isinstance(nan_policy, str) or nan_policy not in NAN_POLICIES:
        raise ValueError(f"nan_policy: expected 'propagate', 'omit' or 'raise', got {nan_policy!r}")
    return nan_policy


def _per_axis(value: Any, axes: tuple[int, ...], ndim: int, name: str) -> dict[int, Any]:
    """A scalar/str for all axes, or a dict keyed by (possibly negative) axis."""
    if not isinstance(value, Mapping):
        return dict.fromkeys(axes, value)
    out: dict[int, Any] = {}
    for key, v in value.items():
        (ax,), _ = _normalize_axes(key, ndim, name)
        if ax not in axes:
            raise ValueError(f"{name}: axis {key} is not one of the differentiated axes {axes}")
        out[ax] = v
    return out


def _boundaries(boundary: Any, axes: tuple[int, ...], ndim: int) -> dict[int, bool]:
    per = _per_axis(boundary, axes, ndim, "boundary")
    out = {}
    for ax in axes:
        b = per.get(ax, "none")
        if b not in BOUNDARIES:
            raise ValueError(
                f"boundary: expected 'none' or 'periodic' (or a dict of them), got {b!r}"
            )
        out[ax] = b == "periodic"
    return out


def _is_scalar(v: Any) -> bool:
    """Whether ``v`` is a number (or 0-d array), without converting arrays or lists."""
    if isinstance(v, list | tuple):
        return False
    ndim = getattr(v, "ndim", None)
    return np.ndim(v) == 0 if ndim is None else ndim == 0


def _spacings(
    varargs: tuple[Any, ...], spacing: Any, axes: tuple[int, ...], torch_form: bool
) -> list[Any]:
    k = len(axes)
    if torch_form:
        if spacing is None:
            return [1.0] * k
        if _is_scalar(spacing):
            return [spacing] * k
        if not isinstance(spacing, Sequence):
            raise TypeError(
                "spacing: expected a number, a list of numbers or a list of 1-D coordinate "
                f"arrays, got {type(spacing).__name__}"
            )
        if len(spacing) != k:
            raise ValueError(
                f"spacing: expected one value per differentiated dim ({k}), got {len(spacing)}"
            )
        kinds = {_is_scalar(s) for s in spacing}
        if len(kinds) > 1:
            raise TypeError("spacing: mixes numbers and coordinate arrays; use one kind")
        return list(spacing)
    if len(varargs) == 0:
        return [1.0] * k
    if len(varargs) == 1 and _is_scalar(varargs[0]):
        return [varargs[0]] * k
    if len(varargs) != k:
        raise TypeError(
            f"varargs: invalid number of arguments: expected no "
            f"spacing, one scalar, or one per differentiated axis ({k}), got {len(varargs)}"
        )
    return list(varargs)


def _coordinate(x: Any, n: int, axis: int, name: str) -> Any:
    """Validate a 1-D coordinate of length ``n``; cast integers to float64.

    ``name`` is the argument it came from (``varargs`` or ``spacing``). The messages
    keep ``numpy.gradient``'s own phrases (NumPy's tests look for them).
    """
    x = as_array(x)
    if x.ndim != 1:
        raise ValueError(
            f"{name}: distances must be either scalars or 1d: the coordinates of axis {axis} "
            f"are a {x.ndim}-D array (give a scalar spacing or one value per point)"
        )
    if x.shape[0] != n:
        raise ValueError(
            f"{name}: when 1d, distances must match the length of the corresponding "
            f"dimension: the coordinates of axis {axis} have length {x.shape[0]}, expected "
            f"{n} (the length of axis {axis})"
        )
    if x.dtype.kind == "M":
        raise TypeError(
            f"{name}: datetime64 coordinates for axis {axis}; convert them to "
            "numbers (e.g. seconds) first"
        )
    if x.dtype.kind == "b":
        raise TypeError(
            f"{name}: bool coordinates for axis {axis} (a mask passed as spacing?); give "
            "numeric coordinates, e.g. x.astype(float) if the 0/1 values are meant"
        )
    if x.dtype.kind in "ium":
        x = x.astype(np.float64)
    elif x.dtype.kind not in "fc":
        raise TypeError(f"{name}: coordinates of dtype {x.dtype} for axis {axis}")
    return x


def _period(period: Any, periodic: dict[int, bool], axes: tuple[int, ...], ndim: int) -> dict:
    if period is None:
        return {}
    per = _per_axis(period, axes, ndim, "period")
    for ax, p in per.items():
        if not periodic[ax]:
            if isinstance(period, Mapping):
                raise ValueError(f"period: axis {ax} is not periodic (set boundary='periodic')")
            continue
        if not _is_scalar(p) or not np.isfinite(p) or p <= 0:
            raise ValueError(f"period: expected a positive finite number for axis {ax}, got {p!r}")
    if not any(periodic.values()):
        raise ValueError("period: given, but no axis has boundary='periodic'")
    return {ax: p for ax, p in per.items() if periodic[ax]}


def check_uniform_period(h: Any, n: int, period: Any, ax: Any) -> None:
    """A period given with a scalar spacing must agree with it (``n * |h| == period``)."""
    if not np.isclose(n * abs(complex(h)), period, rtol=1e-9, atol=0):
        raise ValueError(
            f"period: {period!r} for axis {ax} disagrees with its {n} points spaced {h!r} "
            f"(which span {n * abs(complex(h))!r})"
        )


def _check_python_zero(h: Any, ax: int, name: str) -> None:
    """NumPy's ``ZeroDivisionError`` for a Python zero with second-order edges."""
    if isinstance(h, numbers.Number) and not isinstance(h, np.generic) and h == 0:
        raise ZeroSpacingError(
            f"{name}: float division by zero: spacing {h!r} for axis {ax} with edge_order=2 "
            "(numpy.gradient raises ZeroDivisionError here; a NumPy zero such as "
            "np.float64(0) gives its inf/nan values with RuntimeWarnings)"
        )


def _check_length(n: int, ax: int, edge_order: int, periodic: bool) -> None:
    if n == 0:
        raise ValueError(f"f: axis {ax} has zero size; cannot differentiate along it")
    if not periodic and n < edge_order + 1:
        raise ValueError(
            f"f: axis {ax} has {n} point(s); edge_order={edge_order} needs at least "
            f"{edge_order + 1} (too few points for a gradient)"
        )


def make_plan(
    f: Any,
    varargs: tuple[Any, ...],
    *,
    axis: Any,
    edge_order: Any,
    boundary: Any,
    period: Any,
    spacing: Any,
    dim: Any,
    nan_policy: Any = "propagate",
) -> Plan:
    """Check every argument of ``gradient`` and normalise them into a :class:`Plan`.

    Examples
    --------
    >>> p = make_plan(np.zeros((3, 4)), (2.0,), axis=-1, edge_order=1, boundary="none",
    ...               period=None, spacing=None, dim=None)
    >>> [(a.axis, a.spacing) for a in p.axes], p.single
    ([(1, 2.0)], True)
    """
    torch_form = spacing is not None or dim is not None
    if torch_form and varargs:
        raise TypeError("spacing: cannot be combined with positional spacings (varargs)")
    if axis is not None and dim is not None:
        raise TypeError("dim: cannot be combined with axis; use one of them")
    dtype = output_dtype(f.dtype)
    name = "dim" if dim is not None else "axis"
    axes, _ = _normalize_axes(dim if dim is not None else axis, f.ndim, name)
    edge_order = _check_edge_order(edge_order)
    nan_policy = check_nan_policy(nan_policy)
    spacings = _spacings(varargs, spacing, axes, torch_form)
    periodic = _boundaries(boundary, axes, f.ndim)
    periods = _period(period, periodic, axes, f.ndim)
    plans = []
    for ax, sp in zip(axes, spacings, strict=True):
        n = f.shape[ax]
        _check_length(n, ax, edge_order, periodic[ax])
        is_coord = not _is_scalar(sp)
        if is_coord:
            sp = _coordinate(sp, n, ax, "spacing" if torch_form else "varargs")
            if periodic[ax] and ax not in periods:
                raise ValueError(
                    f"period: axis {ax} is periodic with coordinates; give its period "
                    "(e.g. period=360.0 for longitude in degrees)"
                )
        elif is_dask_array(sp):
            raise TypeError("varargs/spacing: a 0-d Dask array spacing; pass a number instead")
        elif ax in periods:
            check_uniform_period(sp, n, periods[ax], ax)
        elif edge_order == 2 and not periodic[ax]:
            _check_python_zero(sp, ax, "spacing" if torch_form else "varargs")
        plans.append(
            AxisPlan(ax, sp, is_coord, periodic[ax], periods.get(ax), torch_form and is_coord)
        )
    single = not torch_form and len(axes) == 1
    return Plan(tuple(f.shape), tuple(plans), edge_order, dtype, single, nan_policy)
