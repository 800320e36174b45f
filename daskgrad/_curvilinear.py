"""Curvilinear grids: eastward and northward derivatives from 2-D latitude/longitude.

On a grid whose latitude ``phi`` and longitude ``lam`` (degrees) are 2-D coordinates
over two grid dims ``(j, i)`` (ocean models' tripolar/ORCA grids, WRF's XLAT/XLONG,
rotated-pole regional models), a field ``f`` is differentiated along both grid dims
(unit spacing, one call of :func:`daskgrad.gradient`: one halo exchange), and the chain
rule is inverted point by point::

    [df/dj]   [dE/dj  dN/dj] [df/dE]        dE = R cos(phi) dlam,  dN = R dphi
    [df/di] = [dE/di  dN/di] [df/dN]        (lam, phi in radians)

The Jacobian ``J`` of (east, north) distance with respect to the grid indices comes
from the same differences of the coordinates (so a grid rotated or skewed relative to
east/north is handled). Longitude differences are taken modulo 360: ``lam`` is
differentiated in two representations, ``[0, 360)`` and ``[-180, 180)``; every stencil
that crosses the cut of one lies away from the other's (its neighbours are less than
180 degrees apart), and the jump adds at least 180 degrees per index where it crosses,
so the smaller of the two results is the seamless one (a grid step below 90 degrees is
all this needs).

Where ``|phi| = 90`` (to 1e-9 degrees) or ``J`` is numerically singular (``|det J| <=
1e-10 |J|^2``), ``df/dE`` is NaN, and ``df/dN`` is the least-squares value along the
coordinate's northward direction (finite on a pole row of a regular grid; NaN when the
grid does not move north either). Nothing is ever ±inf.

The per-point coefficients are computed blockwise (NumPy, CuPy or Dask coordinates,
lazily for Dask), and the results are ``c_j * df/dj + c_i * df/di``: NaN where either
index derivative is (``nan_policy`` applies to those).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any, cast

import numpy as np
import xarray as xr

from . import _geo, _pint
from ._attrs import derived_attrs
from .api import gradient as _array_gradient
from .typing import EdgeOrder, NanPolicy

__all__ = ["boundaries", "coefficients", "east_north", "gradient_dataset", "metric_terms"]

_SINGULAR = 1e-10
_POLE = 1e-9  # degrees


def boundaries(boundary: Any, period: Any, geo: _geo.Geo) -> dict[Hashable, str]:
    """``boundary`` per grid dim: a string for both, or a mapping keyed by grid dims
    (nothing is periodic by default); ``period`` is refused (steps are grid indices)."""
    grid = geo.grid or ()
    if period is not None:
        raise ValueError(
            f"period: not used on a curvilinear grid (grid dims {list(grid)} are "
            "differentiated per index; a periodic one needs only boundary={dim: 'periodic'})"
        )
    if boundary is None or isinstance(boundary, str):
        sides = {d: boundary or "none" for d in grid}
    elif isinstance(boundary, Mapping):
        unknown = [k for k in boundary if k not in grid]
        if unknown:
            raise ValueError(
                f"boundary: on a curvilinear grid the keys are its grid dims {list(grid)}, "
                f"got {unknown}"
            )
        sides = {d: boundary.get(d, "none") for d in grid}
    else:
        raise TypeError(f"boundary: expected a string or a mapping, got {boundary!r}")
    for d, side in sides.items():
        if side not in ("none", "periodic"):
            raise ValueError(f"boundary: expected 'none' or 'periodic' for {d!r}, got {side!r}")
    return sides


def _index_partials(
    data: Any, dims: tuple, grid: tuple, sides: dict, edge_order: int, nan_policy: str
) -> list[Any]:
    """``[df/dj, df/di]`` per grid index, in one call of the array layer."""
    axes = tuple(dims.index(d) for d in grid)
    boundary = {a: sides[d] for a, d in zip(axes, grid, strict=True)}
    out = _array_gradient(  # the options are checked there (make_plan)
        data,
        axis=axes,
        edge_order=cast(EdgeOrder, edge_order),
        boundary=boundary,
        nan_policy=cast(NanPolicy, nan_policy),
    )
    return list(out)


def _check_finite(values: Any, name: Hashable) -> None:
    if isinstance(values, np.ndarray) and not np.all(np.isfinite(values)):
        raise ValueError(f"geographic=True: the 2-D coordinate {name!r} must be finite")


def _jacobian_parts(obj: Any, geo: _geo.Geo, sides: dict, edge_order: int) -> list[xr.DataArray]:
    """Latitude and the index derivatives of latitude and longitude (degrees per index),
    as DataArrays over the grid dims: ``[lat, dlat_j, dlat_i, dlon_j, dlon_i]``."""
    grid = geo.grid or ()
    lat = obj[geo.lat].transpose(*grid).variable
    lon = obj[geo.lon].transpose(*grid).variable
    _check_finite(lat.data, geo.lat)
    _check_finite(lon.data, geo.lon)
    lat_data = lat.data.astype(np.float64) if lat.dtype.kind in "iu" else lat.data
    lon_data = lon.data.astype(np.float64) if lon.dtype.kind in "iu" else lon.data
    dlat = _index_partials(lat_data, grid, grid, sides, edge_order, "propagate")
    east = lon_data % 360.0  # [0, 360): cut at 0
    west = (lon_data + 180.0) % 360.0 - 180.0  # [-180, 180): cut at 180
    d_east = _index_partials(east, grid, grid, sides, edge_order, "propagate")
    d_west = _index_partials(west, grid, grid, sides, edge_order, "propagate")
    dlon = [_blockwise(_seamless, a, b) for a, b in zip(d_east, d_west, strict=True)]
    return [xr.DataArray(xr.Variable(grid, x)) for x in (lat_data, *dlat, *dlon)]


def _seamless(a: Any, b: Any) -> Any:
    """Per point, the longitude difference of the representation whose cut the stencil
    does not cross: the one of smaller magnitude."""
    xp = _namespace(a)
    return xp.where(xp.abs(a) <= xp.abs(b), a, b)


def _namespace(x: Any) -> Any:
    from ._compat import array_namespace

    return array_namespace(x)


def _blockwise(func: Any, *arrays: Any, **kwargs: Any) -> Any:
    """``func`` applied block by block (Dask) or at once (NumPy/CuPy), elementwise."""
    from ._compat import is_dask_array

    if any(is_dask_array(a) for a in arrays):
        import dask.array as da

        first = next(a for a in arrays if is_dask_array(a))
        arrays = tuple(
            a if is_dask_array(a) else da.from_array(a, chunks=first.chunks) for a in arrays
        )
        dtype = np.result_type(*(a.dtype for a in arrays))
        return da.map_blocks(func, *arrays, dtype=dtype, **kwargs)
    return func(*arrays, **kwargs)


def _coefficients(
    lat: Any, dlat_j: Any, dlat_i: Any, dlon_j: Any, dlon_i: Any, *, radius: float, which: int
) -> Any:
    """One of the four per-point coefficients ``(cEj, cEi, cNj, cNi)``: ``df/dE = cEj
    df/dj + cEi df/di``, ``df/dN = cNj df/dj + cNi df/di`` (see the module docstring)."""
    xp = _namespace(lat)
    k = np.pi / 180.0 * radius
    cos = xp.cos(xp.deg2rad(lat))
    a_j, a_i = k * cos * dlon_j, k * cos * dlon_i  # east distance per index
    b_j, b_i = k * dlat_j, k * dlat_i  # north distance per index
    det = a_j * b_i - b_j * a_i
    norm = a_j * a_j + a_i * a_i + b_j * b_j + b_i * b_i
    singular = (xp.abs(det) <= _SINGULAR * norm) | (xp.abs(xp.abs(lat) - 90.0) <= _POLE)
    safe = xp.where(singular, 1.0, det)
    with np.errstate(divide="ignore", invalid="ignore"):
        if which == 0:
            out = xp.where(singular, xp.nan, b_i / safe)
        elif which == 1:
            out = xp.where(singular, xp.nan, -b_j / safe)
        else:
            north = b_j * b_j + b_i * b_i
            least = (b_j if which == 2 else b_i) / xp.where(north > 0, north, 1.0)
            least = xp.where(north > 0, least, xp.nan)
            exact = (-a_i if which == 2 else a_j) / safe
            out = xp.where(singular, least, exact)
    return out


def coefficients(obj: Any, geo: _geo.Geo, sides: dict, edge_order: int) -> list[xr.DataArray]:
    """The four coefficient fields over the grid dims (lazy for Dask coordinates)."""
    parts = _jacobian_parts(obj, geo, sides, edge_order)
    data = [p.data for p in parts]
    out = []
    for which in range(4):
        c = _blockwise(_coefficients, *data, radius=geo.radius, which=which)
        out.append(xr.DataArray(xr.Variable(geo.grid, c)))
    return out


def east_north(
    var: xr.Variable,
    obj: Any,
    geo: _geo.Geo,
    *,
    sides: dict,
    edge_order: int,
    nan_policy: str,
    coefs: list[xr.DataArray] | None = None,
) -> tuple[Any, Any]:
    """``(df/dE, df/dN)`` of ``var`` per metre, as raw arrays with ``var``'s dims."""
    grid = geo.grid or ()
    missing = [d for d in grid if d not in var.dims]
    if missing:
        raise ValueError(
            f"geographic=True: a variable with dims {var.dims} lacks the grid dimension "
            f"{missing[0]!r} of the 2-D latitude/longitude; select the variables to "
            "differentiate"
        )
    if coefs is None:
        coefs = coefficients(obj, geo, sides, edge_order)
    f_j, f_i = _index_partials(var.data, var.dims, grid, sides, edge_order, nan_policy)
    fj = xr.DataArray(xr.Variable(var.dims, f_j))
    fi = xr.DataArray(xr.Variable(var.dims, f_i))
    c = [_like(x.astype(_real(fj.dtype)), fj) for x in coefs]
    east = (c[0] * fj + c[1] * fi).transpose(*var.dims)
    north = (c[2] * fj + c[3] * fi).transpose(*var.dims)
    return east.data, north.data


def _like(coef: xr.DataArray, data: xr.DataArray) -> xr.DataArray:
    """``coef`` chunked like Dask-backed ``data`` along its dims (so the result has the
    data's chunks, in either of Dask's modes); as it is otherwise."""
    if data.chunks is None:
        return coef
    sizes = data.chunksizes
    return coef.chunk({d: sizes[d] for d in coef.dims})


def _real(dtype: np.dtype) -> np.dtype:
    return np.finfo(dtype).dtype if dtype.kind in "fc" else np.dtype(np.float64)


def metric_terms(obj: Any, geo: _geo.Geo, like: xr.DataArray) -> xr.DataArray:
    """``tan(phi) / R`` over the grid dims, chunked like ``like`` (vorticity and
    divergence on a curvilinear grid: ``+ u tan(phi)/R`` and ``- v tan(phi)/R``)."""
    lat = obj[geo.lat].variable

    def tan_over_r(x: Any) -> Any:
        xb = _namespace(x)
        return xb.tan(xb.deg2rad(x)) / geo.radius

    data = _blockwise(tan_over_r, lat.data.astype(np.float64))
    out = xr.DataArray(xr.Variable(lat.dims, data)).astype(_real(like.dtype))
    return _like(out, like)


def check_names(names: list[Hashable] | None, geo: _geo.Geo) -> list[Hashable]:
    """``dims`` on a curvilinear grid: the latitude/longitude coordinate names (None:
    both, latitude first); a grid dim or any other name is a ValueError."""
    if names is None:
        return [geo.lat, geo.lon]
    for name in names:
        if name not in (geo.lat, geo.lon):
            grid = "a grid dim" if name in (geo.grid or ()) else "not its latitude/longitude"
            raise ValueError(
                f"dims: {name!r} is {grid}; on a curvilinear grid with geographic=True name "
                f"the 2-D coordinates {geo.lat!r} and/or {geo.lon!r} (eastward/northward "
                "derivatives), or pass geographic=False for derivatives per grid index"
            )
    if len(set(names)) != len(names):
        raise ValueError(f"dims: {list(names)} names a coordinate twice")
    return list(names)


_WHAT = {"lat": "northward derivative of {}", "lon": "eastward derivative of {}"}


def gradient_dataset(
    obj: Any,
    variables: list[tuple[Hashable, xr.DataArray]],
    names: list[Hashable],
    geo: _geo.Geo,
    *,
    edge_order: int,
    boundary: Any,
    period: Any,
    nan_policy: str,
    keep_attrs: bool | None,
    pint: _pint.Stripped | None = None,
) -> dict[Hashable, xr.Variable]:
    """``d{var}_d{lat}`` / ``d{var}_d{lon}`` (northward/eastward, per metre) of every
    variable that has both grid dims."""
    sides = boundaries(boundary, period, geo)
    coefs = coefficients(obj, geo, sides, edge_order)
    out: dict[Hashable, xr.Variable] = {}
    for var_name, da in variables:
        if not all(d in da.dims for d in geo.grid or ()):
            continue
        east, north = east_north(
            da.variable,
            obj,
            geo,
            sides=sides,
            edge_order=edge_order,
            nan_policy=nan_policy,
            coefs=coefs,
        )
        for name in names:
            kind = "lat" if name == geo.lat else "lon"
            key = f"d{var_name}_d{name}"
            if key in obj.coords:
                raise ValueError(f"gradient: output name {key!r} is also a coordinate name")
            attrs = derived_attrs(
                da.attrs, var_name, what=_WHAT[kind], coord_units="m", keep_attrs=keep_attrs
            )
            var = xr.Variable(da.dims, north if kind == "lat" else east, attrs)
            out[key] = _pint.wrap(pint, var, var_name, "m")  # pint-backed: units per metre
    return out
