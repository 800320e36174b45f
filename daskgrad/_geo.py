"""Geographic grids: finding latitude/longitude, whole-circle longitude, metric factors.

Derivatives on a sphere of radius ``R`` (latitude ``phi``, longitude ``lam``, both
in degrees in the data) are the derivatives with respect to the coordinate in
degrees times a metric factor:

- d/dy = (180 / pi) / R * d/dphi_deg           (:func:`meridional_factor`)
- d/dx = (180 / pi) / (R cos phi) * d/dlam_deg  (:func:`zonal_factor`)

At the poles (``|phi| == 90``) ``cos phi`` is zero and the zonal factor is
**NaN** by definition, so zonal derivatives (and divergence and vorticity) are
NaN on a pole row instead of a silent ``inf`` or a huge finite number.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from ._cf import score as _score
from ._compat import is_cupy_array, is_dask_array

__all__ = [
    "EARTH_RADIUS",
    "Geo",
    "apply_metric",
    "as_like",
    "check_radius",
    "chunk_like",
    "chunked_like",
    "find_latlon",
    "geo_of",
    "is_whole_circle",
    "lat_factor",
    "meridional_factor",
    "metric_scale",
    "zonal_factor",
]

EARTH_RADIUS = 6371008.8  # mean Earth radius (IUGG), metres

_STANDARD = {"lat": "latitude", "lon": "longitude"}
_POLE_TOLERANCE = 1e-9  # degrees


def _find(obj: Any, kind: Literal["lat", "lon"]) -> Hashable | None:
    scored = [(_score(n, c.attrs, kind), n in obj.dims, n) for n, c in obj.coords.items()]
    scored = [s for s in scored if s[0] > 0]
    if not scored:
        return None
    best = max(s[:2] for s in scored)
    names = [s[2] for s in scored if s[:2] == best]
    if len(names) > 1:
        raise ValueError(
            f"geographic=True: several coordinates look like {_STANDARD[kind]} ({names}); "
            f"give only one of them standard_name={_STANDARD[kind]!r}"
        )
    return names[0]


def find_latlon(obj: Any, curvilinear: bool = False) -> tuple[Hashable, Hashable]:
    """Names of the latitude and longitude coordinates of an xarray object.

    ``curvilinear``: 2-D latitude and longitude over the same two dims are accepted
    too (else only 0-D/1-D ones).

    Looked for, most certain first, among the coordinates: CF ``standard_name``
    (``latitude``/``longitude``), CF ``units`` (``degrees_north``/``degrees_east``
    and their aliases), ``axis`` (``Y``/``X``) with units in degrees, then the
    usual names (``lat``, ``latitude``, ``nav_lat``, ``lon``, ``longitude``, ...)
    without other units. ``x``/``y`` are never taken for longitude/latitude.

    Raises
    ------
    ValueError
        If either is missing or ambiguous, or their shapes do not make a regular (1-D)
        or, with ``curvilinear``, a curvilinear (2-D, same dims) grid.

    Examples
    --------
    >>> from daskgrad.datasets import sphere_grid
    >>> find_latlon(sphere_grid(5, 8))
    ('latitude', 'longitude')
    """
    lat, lon = _find(obj, "lat"), _find(obj, "lon")
    missing = [k for k, v in (("latitude", lat), ("longitude", lon)) if v is None]
    if missing:
        raise ValueError(
            f"geographic=True: no {' or '.join(missing)} coordinate found among "
            f"{list(obj.coords)}; expected CF attributes (standard_name 'latitude'/"
            "'longitude', units 'degrees_north'/'degrees_east') or a usual name (lat, "
            "latitude, lon, longitude); set e.g. obj[name].attrs['standard_name'] = 'latitude'"
        )
    la, lo = obj[lat], obj[lon]
    if la.ndim > 1 or lo.ndim > 1:
        if la.ndim != 2 or lo.dims != la.dims:
            raise ValueError(
                f"geographic=True: latitude {lat!r} (dims {la.dims}) and longitude {lon!r} "
                f"(dims {lo.dims}) make neither a regular grid (both 1-D) nor a "
                "curvilinear one (both 2-D over the same dims)"
            )
        if not curvilinear:
            raise ValueError(
                f"geographic=True: {lat!r} and {lon!r} are 2-D (a curvilinear grid); use "
                ".grad.gradient(geographic=True) for the eastward and northward derivatives"
            )
    _check_latitude(la.data, lat)
    return lat, lon


def _check_latitude(values: Any, name: Hashable) -> None:
    if not isinstance(values, np.ndarray):  # Dask or other lazy data: not computed
        return
    if values.size and not (np.all(np.isfinite(values)) and np.all(np.abs(values) <= 90.0)):
        raise ValueError(f"geographic=True: latitude {name!r} must be finite degrees in [-90, 90]")


def check_radius(radius: Any) -> float:
    """``radius`` as a positive finite float, else ValueError."""
    try:
        value = float(radius)
    except (TypeError, ValueError):
        raise TypeError(f"radius: expected a number of metres, got {radius!r}") from None
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"radius: expected a positive finite number of metres, got {radius!r}")
    return value


def is_whole_circle(lon: Any) -> bool:
    """True when 1-D longitudes (degrees) are evenly spaced and cover the circle once.

    That is: ``n >= 2`` points whose steps around the circle (each ``diff`` taken
    modulo 360 into ``[-180, 180)``, the step from the last point back to the first
    included) are all equal to ``d`` (to a relative 1e-6), with ``n * |d| == 360``
    (to 1e-6 degrees), as in ``0, 2.5, ..., 357.5``, ``-180, ..., 177.5`` or the
    same grid stored rolled (``180, ..., 357.5, 0, ..., 177.5``). A grid that
    repeats the first meridian at the end (``0 .. 360``) or covers only part of the
    circle is not. Lazy (Dask) longitudes are not computed and count as not whole.

    Examples
    --------
    >>> is_whole_circle(np.arange(0, 360, 2.5)), is_whole_circle(np.arange(-180, 180, 2.5))
    (True, True)
    >>> is_whole_circle(np.roll(np.arange(0, 360, 30.0), 6))  # 180 .. 330, 0 .. 150
    True
    >>> is_whole_circle(np.arange(0, 360.1, 2.5)), is_whole_circle(np.arange(0, 90, 2.5))
    (False, False)
    """
    if not isinstance(lon, np.ndarray) or lon.ndim != 1 or lon.size < 2:
        return False
    if lon.dtype.kind not in "iuf":
        return False
    x = lon.astype(np.float64)
    steps = (np.diff(np.append(x, x[0])) + 180.0) % 360.0 - 180.0
    step = steps[0]
    if step == 0 or not np.all(np.abs(steps - step) <= 1e-6 * abs(step)):
        return False
    return bool(abs(lon.size * abs(step) - 360.0) <= 1e-6)


def meridional_factor(radius: float) -> float:
    """Factor turning d/d(latitude in degrees) into d/dy per metre: ``180 / (pi R)``."""
    return 180.0 / (np.pi * radius)


def zonal_factor(lat: Any, radius: float) -> Any:
    """Factor turning d/d(longitude in degrees) into d/dx per metre.

    ``180 / (pi R cos(phi))``, NaN where ``|phi|`` is 90 degrees (to 1e-9): the
    zonal derivative is not defined on a pole. Works lazily on Dask arrays.

    Examples
    --------
    >>> zonal_factor(np.array([90.0, 60.0, 0.0]), 180.0 / np.pi).round(12)
    array([nan,  2.,  1.])
    """
    lat = lat.astype(np.float64) if lat.dtype.kind in "iu" else lat
    if _lazy_mix(lat, None):  # Dask's array-expr mode has no (np.|da.)where: per block
        dtype = zonal_factor(np.empty(0, lat.dtype), radius).dtype
        return lat.map_blocks(zonal_factor, radius, dtype=dtype)
    factor = (180.0 / (np.pi * radius)) / np.cos(np.deg2rad(lat))
    pole = np.abs(np.abs(lat) - 90.0) <= _POLE_TOLERANCE
    return np.where(pole, np.nan, factor)


@dataclass(frozen=True)
class Geo:
    """A geographic grid: the latitude and longitude coordinate names and the radius."""

    lat: Hashable
    lon: Hashable
    radius: float
    grid: tuple[Hashable, Hashable] | None = None  # curvilinear: the 2-D coordinates' dims

    @property
    def curvilinear(self) -> bool:
        return self.grid is not None


def geo_of(obj: Any, geographic: bool, radius: Any, curvilinear: bool = False) -> Geo | None:
    """The geographic grid of ``obj`` when ``geographic`` is True, else None
    (``curvilinear``: 2-D latitude/longitude accepted, see :func:`find_latlon`)."""
    if not isinstance(geographic, bool):
        raise TypeError(f"geographic: expected True or False, got {geographic!r}")
    if not geographic:
        return None
    lat, lon = find_latlon(obj, curvilinear)
    grid = tuple(obj[lat].dims) if obj[lat].ndim == 2 else None
    return Geo(lat, lon, check_radius(radius), grid)


def apply_metric(result: Any, var: Any, kind: str, obj: Any, geo: Geo | None) -> Any:
    """Multiply a derivative with respect to degrees by its metric factor (per metre)."""
    if kind == "plain" or geo is None:
        return result
    real = np.finfo(result.dtype).dtype if result.dtype.kind in "fc" else np.dtype(np.float64)
    if kind == "lat":
        return result * real.type(meridional_factor(geo.radius))
    return result * chunked_like(as_like(lat_factor(var, obj, geo, real), result), result)


def chunked_like(factor: Any, result: Any) -> Any:
    """``factor`` (broadcasting against ``result``) chunked like ``result`` along its
    axes of ``result``'s length, in Dask's array-expr mode only; else ``factor``.

    There an elementwise operation on Dask arrays of different chunks (a NumPy array
    counting as one chunk) raises ``NotImplementedError``; classic mode aligns the
    chunks itself, so its graph is left as it was. The values are unchanged.
    """
    ndim = getattr(factor, "ndim", 0)
    if ndim == 0 or not _lazy_mix(factor, result):
        return factor
    import dask.array as da

    lead = result.ndim - ndim  # factor broadcasts from the right
    target = result.chunks if is_dask_array(result) else tuple((n,) for n in result.shape)
    chunks = tuple(
        target[lead + i] if n == result.shape[lead + i] and n != 1 else (n,)
        for i, n in enumerate(factor.shape)
    )
    if is_dask_array(factor):
        return factor if factor.chunks == chunks else factor.rechunk(chunks)
    return da.from_array(factor, chunks=chunks)


def chunk_like(factor: Any, like: Any) -> Any:
    """:func:`chunked_like` for xarray objects: ``factor`` chunked like ``like`` along
    ``factor``'s dims (whole where ``like`` is not chunked), in array-expr mode only."""
    if not _lazy_mix(factor.data, like.data):
        return factor
    sizes = like.chunksizes
    return factor.chunk({d: sizes.get(d, -1) for d in factor.dims})


def _lazy_mix(a: Any, b: Any) -> bool:
    """Whether ``a`` or ``b`` is a Dask array and Dask runs in array-expr mode."""
    if not (is_dask_array(a) or is_dask_array(b)):
        return False
    from ._compat import dask_array_expr_enabled

    return dask_array_expr_enabled()


def as_like(factor: Any, result: Any) -> Any:
    """``factor`` as a CuPy array when ``result`` (or its Dask chunks) live on the GPU."""
    target = result._meta if is_dask_array(result) else result
    if is_cupy_array(target) and isinstance(factor, np.ndarray):
        import cupy

        return cupy.asarray(factor)
    return factor


def metric_scale(
    kind: str, var: Any, obj: Any, geo: Geo | None, dtype: Any
) -> tuple[Any, int | None] | None:
    """The metric factor of an axis as the kernel applies it to a ``dtype`` result.

    ``(180 / (pi R), None)`` for latitude; for longitude ``(factor, axis)``, the 1-D
    :func:`zonal_factor` of the latitudes along ``var``'s latitude axis (a scalar
    for a 0-D latitude). None for a plain axis, and for a lazy (Dask) latitude,
    whose factor :func:`apply_metric` multiplies in afterwards. The factor is in
    the result's real dtype, as :func:`apply_metric` uses it: the same values.

    Examples
    --------
    >>> from daskgrad.datasets import sphere_grid
    >>> g = sphere_grid(5, 8)
    >>> f = 0 * g.latitude + g.longitude
    >>> geo = Geo("latitude", "longitude", 180.0 / np.pi)
    >>> metric_scale("lat", f.variable, g, geo, np.dtype("float64"))
    (np.float64(1.0), None)
    >>> factor, axis = metric_scale("lon", f.variable, g, geo, np.dtype("float64"))
    >>> factor.round(6).tolist(), axis
    ([nan, 1.414214, 1.0, 1.414214, nan], 0)
    """
    if kind == "plain" or geo is None:
        return None
    real = np.finfo(dtype).dtype if dtype.kind in "fc" else np.dtype(np.float64)
    if kind == "lat":
        return real.type(meridional_factor(geo.radius)), None
    lat = obj[geo.lat].variable
    if is_dask_array(lat.data):
        return None
    factor = lat_factor(var, obj, geo, real)
    if lat.ndim == 0:
        return factor, None
    return factor.reshape(-1), var.get_axis_num(lat.dims[0])


def lat_factor(var: Any, obj: Any, geo: Geo, dtype: Any = np.float64) -> Any:
    """``180 / (pi R cos(lat))`` shaped to broadcast against ``var`` (NaN on the poles)."""
    lat = obj[geo.lat].variable
    factor = zonal_factor(lat.data, geo.radius).astype(dtype)
    if lat.ndim == 0:
        return factor
    if lat.dims[0] not in var.dims:
        raise ValueError(
            f"geographic=True: a variable with dims {var.dims} lacks the latitude "
            f"dimension {lat.dims[0]!r}, so its zonal derivative is not defined; select the "
            "variables to differentiate (e.g. ds[['t2m']]) or drop this one (bounds variables)"
        )
    shape = [1] * var.ndim
    axis = var.get_axis_num(lat.dims[0])
    shape[axis] = lat.size
    if _lazy_mix(factor, None):  # Dask's array-expr mode has no Array.reshape
        return factor[tuple(slice(None) if i == axis else None for i in range(var.ndim))]
    return factor.reshape(shape)
