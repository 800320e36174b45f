"""Divergence and relative vorticity of a horizontal vector field (u, v).

Cartesian grids::

    div = du/dx + dv/dy          vort = dv/dx - du/dy

Geographic grids (sphere of radius R, longitude lam, latitude phi), in flux form
with the metric term in latitude::

    div  = 1/(R cos phi) * (du/dlam + d(v cos phi)/dphi)
    vort = 1/(R cos phi) * (dv/dlam - d(u cos phi)/dphi)

Curvilinear grids (2-D latitude/longitude, :mod:`daskgrad._curvilinear`): from the
eastward and northward derivatives ``d/dx``, ``d/dy`` per metre, with the metric terms::

    div  = du/dx + dv/dy - v tan(phi) / R
    vort = dv/dx - du/dy + u tan(phi) / R

Each partial derivative is one call of :func:`daskgrad.gradient` (Dask input
stays lazy, chunks are kept); a longitude covering the whole circle is
periodic; on the poles (``|phi| == 90``) both are NaN by definition.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from . import _curvilinear, _geo, _pint, _units
from ._attrs import derived_attrs
from ._compat import is_dask_array
from ._fused import Operator, apply_operator
from ._labels import Axis, axes_plan, partials, resolve_axes
from ._plan import check_nan_policy
from .typing import Boundary, EdgeOrder, NanPolicy
from .xarray import check_period

__all__ = ["divergence", "vorticity"]


def _check_pair(u: Any, v: Any) -> tuple[xr.DataArray, xr.DataArray]:
    for arg, value in (("u", u), ("v", v)):
        if not isinstance(value, xr.DataArray):
            raise TypeError(f"{arg}: expected an xarray.DataArray, got {type(value).__name__}")
    _pint.check_pair(u, v)  # both pint-backed or neither, compatible units: before aligning
    try:
        return xr.align(u, v, join="exact", copy=False)  # no deep copy of the data
    except ValueError as err:
        raise ValueError(f"u and v must share their coordinate labels: {err}") from None


def _in_units_of_u(u: xr.DataArray, v: xr.DataArray) -> tuple[xr.DataArray, str | None]:
    """v converted to u's ``units`` (lazily, if compatible but different) and their units.

    None for the units when either is absent or unreadable; ValueError if incompatible.
    """
    units, factor = _units.vector_units(u.attrs.get("units"), v.attrs.get("units"))
    if factor != 1.0:
        v = (v * factor).assign_attrs(v.attrs)
    return v, units


def _names(u: xr.DataArray, dims: Any, geo: _geo.Geo | None) -> list[Hashable]:
    if dims is None:
        if geo is not None:
            return [geo.lon, geo.lat]
        if u.ndim < 2:
            raise ValueError(f"dims: u has dims {u.dims}; need at least two (..., y, x)")
        return [u.dims[-1], u.dims[-2]]
    if isinstance(dims, str) or not isinstance(dims, Sequence) or len(dims) != 2:
        raise ValueError(f"dims: expected a pair (x, y) of coordinate names, got {dims!r}")
    return list(dims)


def _partial(field: xr.DataArray, axis: Axis, options: dict[str, Any], **kw: Any) -> xr.DataArray:
    if axis.dim not in field.dims:
        raise ValueError(f"{field.name!r} (dims {field.dims}) lacks dimension {axis.dim!r}")
    (data,) = partials(field.variable, [axis], **options, **kw)
    return xr.DataArray(xr.Variable(field.dims, data), coords=field.coords)


def _cos_lat(field: xr.DataArray, obj: Any, geo: _geo.Geo) -> xr.DataArray:
    lat = obj[geo.lat].variable
    real = np.finfo(field.dtype).dtype if field.dtype.kind in "fc" else np.float64
    cos = _geo.as_like(np.cos(np.deg2rad(lat.data)).astype(real), field.data)
    return _geo.chunk_like(xr.DataArray(xr.Variable(lat.dims, cos)), field)


def _operator(
    a: xr.DataArray,
    b: xr.DataArray,
    sign: int,
    *,
    dims: Any,
    geographic: bool,
    radius: Any,
    edge_order: int,
    boundary: Any,
    period: Any,
    nan_policy: str,
    pint: _pint.Stripped | None = None,
) -> tuple[xr.DataArray, str | None]:
    """``d a/dx + sign * d b/dy`` (Cartesian) or its spherical flux form.

    For divergence ``a, b = u, v`` and sign +1; for vorticity ``a, b = v, u``, -1.
    Returns the field and the units of the coordinates (None if unknown).
    """
    check_nan_policy(nan_policy)
    geo = _geo.geo_of(a, geographic, radius, curvilinear=True)
    if geo is not None and geo.curvilinear:
        return _curvilinear_operator(
            a, b, sign, geo, dims, edge_order, boundary, period, nan_policy
        )
    x, y = resolve_axes(a, _names(a, dims, geo), boundary=boundary, period=period, geo=geo)
    check_period(period, [x, y], a)
    if geo is None:  # pint: y's coordinate in x's units
        x, y = _pint.same_units(pint, x, y)
    options = {"edge_order": edge_order, "nan_policy": nan_policy}
    same = x.units == y.units or _units.same_units(x.units, y.units)
    units = "m" if geo is not None else x.units if same else None
    fused = _fused_operator(a, b, x, y, sign, geo, options)
    if fused is not None:
        return fused, units
    if geo is None:
        da_dx = _partial(a, x, options)
        db_dy = _partial(b, y, options)
        return da_dx + sign * db_dy, units
    if (x.kind, y.kind) != ("lon", "lat"):
        raise ValueError(
            f"dims: on a geographic grid expected (longitude, latitude) = "
            f"({geo.lon!r}, {geo.lat!r}), got ({x.name!r}, {y.name!r})"
        )
    da_dlam = _partial(a, x, options, metric=False)
    db_dphi = _partial(b * _cos_lat(b, a, geo), y, options, metric=False)
    total = da_dlam + sign * db_dphi
    factor = _geo.zonal_factor(a[geo.lat].data, geo.radius).astype(total.dtype)
    factor = _geo.as_like(factor, total.data)
    return total * _geo.chunk_like(xr.DataArray(xr.Variable(a[geo.lat].dims, factor)), total), "m"


def _fused_operator(
    a: xr.DataArray,
    b: xr.DataArray,
    x: Axis,
    y: Axis,
    sign: int,
    geo: _geo.Geo | None,
    options: dict[str, Any],
) -> xr.DataArray | None:
    """The operator in one task per chunk (:mod:`daskgrad._fused`), or None where it
    does not apply and the composition below computes it (fields of different dims or
    dtypes, not float32/float64, one lazy and one not; lazy coordinates or latitude)."""
    if set(b.dims) != set(a.dims) or x.dim not in a.dims or y.dim not in a.dims:
        return None
    b = b.transpose(*a.dims)
    if a.dtype != b.dtype or a.dtype not in (np.float32, np.float64):
        return None
    if is_dask_array(a.data) != is_dask_array(b.data) or any(
        is_dask_array(ax.spacing) for ax in (x, y)
    ):
        return None
    pre = post = None
    if geo is not None:
        lat = a[geo.lat].variable
        if is_dask_array(lat.data) or lat.dims != (y.dim,):
            return None
        pre = np.cos(np.deg2rad(lat.data)).astype(a.dtype)  # as _cos_lat
        post = (_geo.zonal_factor(lat.data, geo.radius).astype(a.dtype), a.get_axis_num(y.dim))
    _, plan_a, _ = axes_plan(a.variable, [x], metric=False, **options)
    _, plan_b, _ = axes_plan(b.variable, [y], metric=False, **options)
    data = apply_operator(a.data, b.data, Operator(plan_a, plan_b, sign, pre, post))
    return xr.DataArray(xr.Variable(a.dims, data), coords=a.coords)


def _curvilinear_operator(
    a: xr.DataArray,
    b: xr.DataArray,
    sign: int,
    geo: _geo.Geo,
    dims: Any,
    edge_order: int,
    boundary: Any,
    period: Any,
    nan_policy: str,
) -> tuple[xr.DataArray, str | None]:
    """``d a/dx + sign * d b/dy - sign * b tan(phi) / R`` from the eastward/northward
    derivatives on 2-D latitude/longitude (a, b earth-relative at the same points)."""
    if dims is not None and list(dims) != [geo.lon, geo.lat]:
        raise ValueError(
            f"dims: on a curvilinear grid expected (longitude, latitude) = "
            f"({geo.lon!r}, {geo.lat!r}), got {tuple(dims)!r}"
        )
    for name in (geo.lat, geo.lon):
        if name not in b.coords or not a[name].variable.equals(b[name].variable):
            raise ValueError(
                f"u and v must be on the same points: their 2-D coordinate {name!r} differs "
                "(rotate grid-relative winds to eastward/northward and interpolate staggered "
                "ones to the same points first)"
            )
    sides = _curvilinear.boundaries(boundary, period, geo)
    coefs = _curvilinear.coefficients(a, geo, sides, edge_order)
    kw: dict[str, Any] = {
        "sides": sides,
        "edge_order": edge_order,
        "nan_policy": nan_policy,
        "coefs": coefs,
    }
    da_dx, _ = _curvilinear.east_north(a.variable, a, geo, **kw)
    _, db_dy = _curvilinear.east_north(b.variable, a, geo, **kw)
    da_dx = xr.DataArray(xr.Variable(a.dims, da_dx), coords=a.coords)
    db_dy = xr.DataArray(xr.Variable(b.dims, db_dy), coords=a.coords)
    tan = _curvilinear.metric_terms(a, geo, db_dy)
    return da_dx + sign * db_dy - sign * b * tan, "m"


def _finish(
    result: xr.DataArray,
    u: xr.DataArray,
    v: xr.DataArray,
    label: str,
    name: str,
    units: tuple[str | None, str | None],
    keep_attrs: bool | None,
) -> xr.DataArray:
    """Name and attrs; ``units`` are those of (u, v) and of the coordinates."""
    attrs = {**v.attrs, **u.attrs}
    if attrs:  # the pair's units, or None: then long_name alone, as for one input
        attrs["units"] = units[0]
    coord_units = units[1]
    what = f"{label} of ({u.name}, {v.name})".replace("{", "{{").replace("}", "}}")
    result.attrs = derived_attrs(
        attrs, None, what=what, coord_units=coord_units, keep_attrs=keep_attrs
    )
    return result.rename(name)


def divergence(
    u: xr.DataArray,
    v: xr.DataArray,
    *,
    dims: Sequence[Hashable] | None = None,
    geographic: bool = False,
    radius: float = _geo.EARTH_RADIUS,
    edge_order: EdgeOrder = 1,
    boundary: Boundary | Mapping[Any, Boundary] | None = None,
    period: float | Mapping[Any, float] | None = None,
    keep_attrs: bool | None = None,
    nan_policy: NanPolicy = "propagate",
) -> xr.DataArray:
    """Horizontal divergence of the vector field ``(u, v)``.

    Cartesian: ``du/dx + dv/dy``. Geographic (``geographic=True``, latitude and
    longitude in degrees found from CF attributes or usual names):
    ``1/(R cos phi) (du/dlam + d(v cos phi)/dphi)``, per metre, NaN on the poles;
    a longitude covering the whole circle is periodic.

    Parameters
    ----------
    u, v : xarray.DataArray
        Eastward (x) and northward (y) components on the same grid (their
        coordinate labels must match exactly). NumPy- or Dask-backed: Dask stays
        lazy. CF ``units`` attrs that differ but are compatible (``knots`` and
        ``m s-1``): v is converted to u's units first; incompatible ones raise. On a
        curvilinear grid (2-D latitude/longitude, ``geographic=True``) they must be
        earth-relative (eastward, northward) at the same points with identical 2-D
        coordinates: grid-relative winds (WRF, rotated-pole models) must be rotated
        and staggered C-grid components interpolated to the same points first; the
        spherical form with metric terms is used there (module docstring). pint-backed
        (pint-xarray, MetPy): both or neither, compatible units (else ValueError); v is
        converted to u's units and the result is in u's units per coordinate unit.
    dims : (x, y), optional
        Names of the x and y coordinates (or dimensions). Default: the last two
        dimensions of ``u`` as ``(..., y, x)``, or on a geographic grid
        ``(longitude, latitude)``.
    geographic : bool
        Use spherical metrics (see above).
    radius : float
        Sphere radius in metres.
    edge_order : {1, 2}
        One-sided difference order at non-periodic ends.
    boundary, period : optional
        As in ``DataArray.grad.gradient``: ``"none"``/``"periodic"`` for both, or
        a mapping by name; period of a periodic coordinate.
    keep_attrs : bool or None
        The package's attrs policy: None (default) gives ``units`` (e.g. ``s-1``
        from ``m s-1`` and metres) and ``long_name`` when the inputs have attrs.
    nan_policy : {"propagate", "omit", "raise"}
        As in :func:`daskgrad.gradient`, for each partial derivative: with ``"omit"``
        a NaN point (land) is a gap along x for ``du/dx`` and along y for ``dv/dy``,
        so the result is NaN only where ``u`` or ``v`` is NaN or a run has one point.

    Returns
    -------
    xarray.DataArray
        Named ``divergence``.

    Raises
    ------
    ValueError
        If u's and v's ``units`` attrs are incompatible (``m s-1`` and ``K``).

    Examples
    --------
    >>> import numpy as np, xarray as xr, daskgrad
    >>> x = xr.DataArray(np.arange(4.0), dims="x")
    >>> y = xr.DataArray(np.arange(3.0), dims="y")
    >>> u, v = 0 * y + 2 * x, 3 * y + 0 * x  # dims (y, x); div = 2 + 3
    >>> daskgrad.divergence(u, v, dims=("x", "y")).values.tolist()
    [[5.0, 5.0, 5.0, 5.0], [5.0, 5.0, 5.0, 5.0], [5.0, 5.0, 5.0, 5.0]]
    """
    u, v = _check_pair(u, v)
    u, v, pint = _pint.strip_pair(u, v)  # pint: magnitudes, v in u's units
    v, uv_units = _in_units_of_u(u, v)
    result, units = _operator(
        u,
        v,
        +1,
        dims=dims,
        geographic=geographic,
        radius=radius,
        edge_order=edge_order,
        boundary=boundary,
        period=period,
        nan_policy=nan_policy,
        pint=pint,
    )
    result = _finish(result, u, v, "divergence", "divergence", (uv_units, units), keep_attrs)
    return _pint.finish(pint, result, units)


def vorticity(
    u: xr.DataArray,
    v: xr.DataArray,
    *,
    dims: Sequence[Hashable] | None = None,
    geographic: bool = False,
    radius: float = _geo.EARTH_RADIUS,
    edge_order: EdgeOrder = 1,
    boundary: Boundary | Mapping[Any, Boundary] | None = None,
    period: float | Mapping[Any, float] | None = None,
    keep_attrs: bool | None = None,
    nan_policy: NanPolicy = "propagate",
) -> xr.DataArray:
    """Relative vorticity ``k . curl(u, v)`` of the vector field ``(u, v)``.

    Cartesian: ``dv/dx - du/dy``. Geographic: ``1/(R cos phi) (dv/dlam -
    d(u cos phi)/dphi)``, per metre, NaN on the poles. Arguments as in
    :func:`divergence`.

    Returns
    -------
    xarray.DataArray
        Named ``vorticity``; units e.g. ``s-1``.

    Examples
    --------
    >>> import daskgrad
    >>> from daskgrad.datasets import sphere_grid
    >>> g = sphere_grid(37, 72)
    >>> u = 10.0 * np.cos(np.deg2rad(g.latitude)) + 0 * g.longitude   # solid-body rotation
    >>> zeta = daskgrad.vorticity(u, 0 * u, geographic=True)            # 2 U sin(phi) / R
    >>> expected = 2 * 10.0 * np.sin(np.deg2rad(g.latitude)) / 6371008.8
    >>> error = abs(zeta - expected).isel(latitude=slice(1, -1)).max()
    >>> bool(error < 1e-2 * abs(expected).max())  # second order: ~4x smaller per halving
    True
    """
    u, v = _check_pair(u, v)
    u, v, pint = _pint.strip_pair(u, v)  # pint: magnitudes, v in u's units
    v, uv_units = _in_units_of_u(u, v)
    result, units = _operator(
        v,
        u,
        -1,
        dims=dims,
        geographic=geographic,
        radius=radius,
        edge_order=edge_order,
        boundary=boundary,
        period=period,
        nan_policy=nan_policy,
        pint=pint,
    )
    label = "relative vorticity"
    result = _finish(result, u, v, label, "vorticity", (uv_units, units), keep_attrs)
    return _pint.finish(pint, result, units)
