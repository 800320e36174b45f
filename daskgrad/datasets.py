"""Synthetic, climate-style sample data (no downloads).

:func:`climate` builds an ERA5-like ``xr.Dataset`` on a regular global
latitude/longitude grid with CF attributes; :func:`sphere_grid` builds an
empty global grid with CF coordinates, handy for analytic fields in tests and
examples. Only NumPy and xarray are needed (plus Dask if ``chunks=`` is given).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["climate", "rotated_pole_grid", "sphere_grid"]

_LAT_ATTRS = {
    "standard_name": "latitude",
    "long_name": "latitude",
    "units": "degrees_north",
    "axis": "Y",
}
_LON_ATTRS = {
    "standard_name": "longitude",
    "long_name": "longitude",
    "units": "degrees_east",
    "axis": "X",
}
_VAR_ATTRS = {
    "t2m": ("K", "2 metre temperature", "air_temperature"),
    "msl": ("Pa", "Mean sea level pressure", "air_pressure_at_mean_sea_level"),
    "u10": ("m s-1", "10 metre U wind component", "eastward_wind"),
    "v10": ("m s-1", "10 metre V wind component", "northward_wind"),
}


def sphere_grid(
    nlat: int = 73,
    nlon: int = 144,
    *,
    lat_descending: bool = True,
    lon_start: float = 0.0,
) -> Any:
    """Return an empty global latitude/longitude grid with CF coordinates.

    Latitude runs from pole to pole (``90 .. -90``, or ``-90 .. 90`` with
    ``lat_descending=False``) with ``nlat`` points, poles included; longitude
    has ``nlon`` points from ``lon_start`` with spacing ``360 / nlon`` (the
    last point is ``lon_start + 360 - 360 / nlon``, so the grid covers the
    whole circle without repeating a meridian).

    Parameters
    ----------
    nlat, nlon : int
        Number of latitudes (>= 2) and longitudes (>= 1).
    lat_descending : bool
        Order latitude from north to south (as ERA5 does).
    lon_start : float
        First longitude in degrees east, e.g. ``0`` or ``-180``.

    Returns
    -------
    xarray.Dataset
        A Dataset with coordinates ``latitude`` and ``longitude`` (float64,
        CF attributes) and no data variables.

    Examples
    --------
    >>> from daskgrad.datasets import sphere_grid
    >>> g = sphere_grid(5, 8, lon_start=-180.0)
    >>> g.latitude.values.tolist(), g.longitude.values[[0, -1]].tolist()
    ([90.0, 45.0, 0.0, -45.0, -90.0], [-180.0, 135.0])
    """
    import xarray as xr

    if nlat < 2 or nlon < 1:
        raise ValueError(f"sphere_grid needs nlat >= 2 and nlon >= 1, got {nlat=}, {nlon=}")
    lat = np.linspace(90.0, -90.0, nlat) if lat_descending else np.linspace(-90.0, 90.0, nlat)
    lon = lon_start + np.arange(nlon) * (360.0 / nlon)
    return xr.Dataset(
        coords={
            "latitude": ("latitude", lat, dict(_LAT_ATTRS)),
            "longitude": ("longitude", lon, dict(_LON_ATTRS)),
        }
    )


def rotated_pole_grid(
    nrlat: int = 41,
    nrlon: int = 61,
    *,
    pole_lat: float = 40.0,
    pole_lon: float = -170.0,
    span: float = 20.0,
) -> Any:
    """Return an empty regional rotated-pole grid: 2-D true latitude/longitude.

    The grid is regular in rotated coordinates (``rlat`` in ``[-span, span]`` with
    ``nrlat`` points, ``rlon`` in ``[-1.5 span, 1.5 span]`` with ``nrlon``), whose north
    pole sits at true ``(pole_lat, pole_lon)`` (CORDEX convention: the default puts the
    domain over Europe). ``lat``/``lon`` are the true coordinates in degrees (longitude
    in ``[-180, 180)``), 2-D over ``(rlat, rlon)``: a curvilinear grid.

    Examples
    --------
    >>> from daskgrad.datasets import rotated_pole_grid
    >>> g = rotated_pole_grid(5, 7)
    >>> g.lat.dims, g.lat.shape, bool(abs(g.lat).max() < 90)
    (('rlat', 'rlon'), (5, 7), True)
    """
    import xarray as xr

    rlat = np.linspace(-span, span, nrlat)
    rlon = np.linspace(-1.5 * span, 1.5 * span, nrlon)
    lam, phi = np.meshgrid(np.deg2rad(rlon), np.deg2rad(rlat))
    x, y, z = np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)
    tilt, turn = np.deg2rad(90.0 - pole_lat), np.deg2rad(pole_lon + 180.0)
    x2, z2 = np.cos(tilt) * x + np.sin(tilt) * z, -np.sin(tilt) * x + np.cos(tilt) * z
    x3, y3 = np.cos(turn) * x2 - np.sin(turn) * y, np.sin(turn) * x2 + np.cos(turn) * y
    lat = np.rad2deg(np.arcsin(np.clip(z2, -1.0, 1.0)))
    lon = np.rad2deg(np.arctan2(y3, x3))
    dims = ("rlat", "rlon")
    return xr.Dataset(
        coords={
            "rlat": ("rlat", rlat, {"standard_name": "grid_latitude", "units": "degrees"}),
            "rlon": ("rlon", rlon, {"standard_name": "grid_longitude", "units": "degrees"}),
            "lat": (dims, lat, dict(_TRUE_LAT)),
            "lon": (dims, lon, dict(_TRUE_LON)),
        }
    )


_TRUE_LAT = {"standard_name": "latitude", "units": "degrees_north"}
_TRUE_LON = {"standard_name": "longitude", "units": "degrees_east"}


def _fields(
    time_index: np.ndarray, lat: np.ndarray, lon: np.ndarray, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Smooth, roughly realistic fields on (time, lat, lon), float64."""
    phi = np.deg2rad(lat)[None, :, None]
    lam = np.deg2rad(lon)[None, None, :]
    t = time_index[:, None, None].astype(np.float64)
    season = np.sin(2 * np.pi * t / 365.25)
    drift = 0.35 * t  # waves travel eastward by 0.35 rad per day
    cos, sin = np.cos(phi), np.sin(phi)
    t2m = (
        300.0
        - 55.0 * sin**2
        - 8.0 * season * sin
        + 6.0 * cos**2 * np.sin(2 * lam)
        + 3.0 * cos * sin**2 * np.cos(4 * lam - drift)
    )
    msl = (
        101325.0
        - 1200.0 * np.cos(6 * phi)
        + 900.0 * sin**2 * cos**4 * np.cos(5 * lam - drift)
        + 300.0 * season * cos
    )
    u10 = -6.0 * np.cos(3 * phi) * cos + 3.0 * sin**2 * cos**3 * np.sin(5 * lam - drift)
    v10 = 4.0 * cos**2 * sin * np.sin(3 * lam - drift) + 1.5 * np.sin(2 * phi) * cos * season
    scale = {"t2m": 0.05, "msl": 5.0, "u10": 0.05, "v10": 0.05}
    out = {"t2m": t2m, "msl": msl, "u10": u10, "v10": v10}
    for name, field in out.items():
        # noise shrinks with the grid boxes towards the poles, as real fields are smoother there
        out[name] = field + scale[name] * cos * rng.standard_normal(field.shape)
    return out


def climate(
    ntime: int = 4,
    nlat: int = 73,
    nlon: int = 144,
    *,
    chunks: Mapping[str, Any] | int | str | None = None,
    seed: int = 0,
) -> Any:
    """Return an ERA5-like sample dataset on a regular global grid.

    Dimensions are ``(time, latitude, longitude)``: daily ``time`` from
    2000-01-01 (``datetime64[ns]``), ``latitude`` decreasing from 90 to -90
    (poles included) and ``longitude`` from 0 to ``360 - 360/nlon`` degrees
    east. Data variables are **float32** (as ERA5 ships them): ``t2m`` (K),
    ``msl`` (Pa), ``u10`` and ``v10`` (m s-1), each with CF ``units``,
    ``long_name`` and ``standard_name``. The fields are smooth large-scale
    patterns (a pole-to-equator temperature contrast, pressure belts,
    trade winds and westerlies, eastward-travelling waves) plus a little
    Gaussian noise from ``np.random.default_rng(seed)``, scaled by the cosine
    of latitude (none on the poles); same arguments, same bits.

    Parameters
    ----------
    ntime, nlat, nlon : int
        Grid size (the default is a 2.5 degree grid, 4 days).
    chunks : mapping, int, str or None
        Passed to :meth:`xarray.Dataset.chunk` (needs Dask); ``None`` keeps
        NumPy-backed variables.
    seed : int
        Seed of the noise.

    Returns
    -------
    xarray.Dataset

    Examples
    --------
    >>> from daskgrad.datasets import climate
    >>> ds = climate(ntime=2, nlat=19, nlon=36)
    >>> dict(ds.sizes)
    {'time': 2, 'latitude': 19, 'longitude': 36}
    >>> ds.t2m.dtype, ds.t2m.attrs["units"], float(ds.latitude[0])
    (dtype('float32'), 'K', 90.0)
    """
    import xarray as xr

    if ntime < 1:
        raise ValueError(f"climate needs ntime >= 1, got {ntime}")
    grid = sphere_grid(nlat, nlon)
    time = np.datetime64("2000-01-01", "ns") + np.arange(ntime) * np.timedelta64(1, "D")
    rng = np.random.default_rng(seed)
    fields = _fields(np.arange(ntime), grid.latitude.values, grid.longitude.values, rng)
    dims = ("time", "latitude", "longitude")
    data_vars = {}
    for name, (units, long_name, standard_name) in _VAR_ATTRS.items():
        attrs = {"units": units, "long_name": long_name, "standard_name": standard_name}
        data_vars[name] = (dims, fields[name].astype(np.float32), attrs)
    ds = xr.Dataset(
        data_vars,
        coords={
            "time": ("time", time, {"standard_name": "time", "axis": "T"}),
            "latitude": grid.latitude,
            "longitude": grid.longitude,
        },
        attrs={
            "title": "daskgrad synthetic ERA5-like sample",
            "source": "daskgrad.datasets.climate (analytic fields + noise)",
            "Conventions": "CF-1.8",
        },
    )
    if chunks is not None:
        ds = ds.chunk(chunks)
    return ds
