"""Labels to axes: the xarray layer's translation of names into array-layer calls.

A coordinate name becomes an :class:`Axis` (dimension, spacing as numbers,
boundary, period, units, geographic kind); :func:`partials` then computes every
partial derivative of one variable in ONE call of :func:`daskgrad.gradient` and
applies the geographic metric factors. No other arithmetic happens here.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import xarray as xr

from . import _geo
from ._compat import variable_to_numeric
from ._plan import Plan, as_array, make_plan
from ._units import time_unit
from .api import gradient_planned

__all__ = [
    "Axis",
    "as_numbers",
    "axes_plan",
    "check_keys",
    "coordinate",
    "is_datetime_like",
    "partials",
    "resolve_axes",
]

BOUNDARIES = ("none", "periodic")


@dataclass(frozen=True)
class Axis:
    """One differentiated coordinate, resolved: dimension, spacing, boundary, metric."""

    name: Hashable  # the name the caller gave (a coordinate or a dimension)
    dim: Hashable
    spacing: Any  # 1.0, or the 1-D coordinate values (NumPy or Dask, numbers)
    periodic: bool
    period: Any
    units: str | None  # units of what the derivative is taken with respect to
    kind: str  # "plain", "lat" (d/dy, per metre) or "lon" (d/dx, per metre)
    time_unit: str | None = None  # the datetime unit of a datetime-like coordinate


def is_datetime_like(var: xr.Variable) -> bool:
    from xarray.core.common import _contains_datetime_like_objects

    return bool(_contains_datetime_like_objects(var))


def as_numbers(var: xr.Variable, datetime_unit: str | None) -> tuple[xr.Variable, str | None]:
    """Datetime/cftime values as numbers in ``datetime_unit``, exactly as xarray does."""
    if not is_datetime_like(var):
        return var, None
    if datetime_unit is None:
        datetime_unit = np.datetime_data(var.dtype)[0] if var.dtype.kind in "mM" else "s"
    return variable_to_numeric(var, datetime_unit), datetime_unit


def _pick(value: Any, name: Hashable, dim: Hashable, arg: str) -> Any:
    """A per-coordinate argument: one value for all, or a mapping by name or dim."""
    if isinstance(value, Mapping):
        return value.get(name, value.get(dim))
    return value


def check_keys(value: Any, known: set[Hashable], arg: str) -> None:
    """A ``{name: value}`` argument may only name the differentiated coordinates."""
    if not isinstance(value, Mapping):
        return
    unknown = [k for k in value if k not in known]
    if unknown:
        expected = sorted(known, key=str)
        raise ValueError(f"{arg}: {unknown} are not among the differentiated {expected}")


def coordinate(obj: Any, name: Hashable) -> xr.Variable | None:
    """The 1-D variable ``name`` stands for (None: a dimension without coordinate)."""
    if name in obj.coords or (isinstance(obj, xr.Dataset) and name in obj.variables):
        var = obj[name].variable
    elif name in obj.dims:
        return None
    else:
        known = sorted(set(map(str, obj.coords)) | set(map(str, obj.dims)))
        raise ValueError(f"Coordinate {name!r} not found in variables or dimensions {known}.")
    if var.ndim != 1:
        raise ValueError(f"Coordinate {name} must be 1 dimensional but is {var.ndim} dimensional")
    return var


def _resolve_axis(
    obj: Any,
    name: Hashable,
    *,
    datetime_unit: Any,
    boundary: Any,
    period: Any,
    geo: _geo.Geo | None,
) -> Axis:
    coord = coordinate(obj, name)
    unit = None
    if coord is None:
        dim, spacing, units = name, 1.0, None
    else:
        dim = coord.dims[0]
        coord, unit = as_numbers(coord, datetime_unit)
        spacing = coord.data
        units = time_unit(unit) if unit else coord.attrs.get("units")
    kind = "plain"
    if geo is not None and name in (geo.lat, geo.lon):
        kind, units = ("lat" if name == geo.lat else "lon"), "m"
    side = _pick(boundary, name, dim, "boundary")
    if side is None:
        whole = kind == "lon" and _geo.is_whole_circle(spacing)
        side = "periodic" if whole else "none"
    if side not in BOUNDARIES:
        raise ValueError(f"boundary: expected 'none' or 'periodic' for {name!r}, got {side!r}")
    length = _pick(period, name, dim, "period")
    if side == "periodic" and length is None and kind == "lon":
        length = 360.0
    periodic = side == "periodic"
    return Axis(name, dim, spacing, periodic, length if periodic else None, units, kind, unit)


def resolve_axes(
    obj: Any,
    names: Iterable[Hashable],
    *,
    datetime_unit: Any = None,
    boundary: Any = None,
    period: Any = None,
    geo: _geo.Geo | None = None,
    strict: bool = True,
) -> list[Axis]:
    """Resolve coordinate names into :class:`Axis` records (one dimension each).

    ``strict``: the keys of ``boundary``/``period`` mappings must name one of them.
    """
    axes = [
        _resolve_axis(
            obj, n, datetime_unit=datetime_unit, boundary=boundary, period=period, geo=geo
        )
        for n in names
    ]
    if strict:
        known = {a.name for a in axes} | {a.dim for a in axes}
        check_keys(boundary, known, "boundary")
        check_keys(period, known, "period")
    seen: dict[Hashable, Hashable] = {}
    for a in axes:
        if a.dim in seen:
            raise ValueError(
                f"dims: {seen[a.dim]!r} and {a.name!r} both lie along dimension {a.dim!r}"
            )
        seen[a.dim] = a.name
    return axes


def axes_plan(
    var: xr.Variable,
    axes: list[Axis],
    *,
    edge_order: int,
    obj: Any = None,
    geo: _geo.Geo | None = None,
    metric: bool = True,
    nan_policy: str = "propagate",
) -> tuple[Any, Plan, list[Any]]:
    """``(data, plan, scales)``: the array layer's input and :class:`~daskgrad._plan.Plan`
    for the partial derivatives of ``var`` along ``axes``, validated once.

    With ``metric``, geographic axes carry their metric factor in the plan (applied in
    the kernel's task); ``scales[i]`` is None where axis ``i`` has none in the plan.
    """
    numbers = tuple(var.get_axis_num(a.dim) for a in axes)
    boundary = {n: "periodic" if a.periodic else "none" for n, a in zip(numbers, axes, strict=True)}
    # spacing's .ndim, not np.ndim(): Dask's array-expr mode does not support np.ndim
    period = {
        n: a.period
        for n, a in zip(numbers, axes, strict=True)
        if a.periodic and a.period is not None and getattr(a.spacing, "ndim", 0) == 1
    }
    f = as_array(var.data)
    plan = make_plan(
        f,
        tuple(a.spacing for a in axes),
        axis=numbers,
        edge_order=edge_order,
        boundary=boundary,
        period=period or None,
        spacing=None,
        dim=None,
        nan_policy=nan_policy,
    )
    scale_geo = geo if metric else None
    scales = [_geo.metric_scale(a.kind, var, obj, scale_geo, plan.dtype) for a in axes]
    scaled = tuple(
        ap if sc is None else replace(ap, scale=sc[0], scale_axis=sc[1])
        for ap, sc in zip(plan.axes, scales, strict=True)
    )
    return f, replace(plan, axes=scaled), scales


def partials(
    var: xr.Variable,
    axes: list[Axis],
    *,
    edge_order: int,
    datetime_unit: Any = None,
    obj: Any = None,
    geo: _geo.Geo | None = None,
    metric: bool = True,
    nan_policy: str = "propagate",
) -> list[Any]:
    """All partial derivatives of ``var`` along ``axes``, in ONE call of the array layer.

    Returns raw arrays (NumPy, CuPy or lazy Dask) with ``var``'s dims; with
    ``metric=False`` geographic axes stay derivatives with respect to degrees.
    ``nan_policy`` as in :func:`daskgrad.gradient`.
    """
    if is_datetime_like(var):  # datetime data, converted as xarray does
        var = variable_to_numeric(var, datetime_unit)
    f, plan, scales = axes_plan(
        var, axes, edge_order=edge_order, obj=obj, geo=geo, metric=metric, nan_policy=nan_policy
    )
    out = gradient_planned(f, plan)
    return [
        _geo.apply_metric(r, var, a.kind, obj, geo) if metric and sc is None else r
        for r, a, sc in zip(out, axes, scales, strict=True)
    ]
