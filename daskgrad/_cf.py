"""ONE table of how latitude, longitude and time are recognised, for the accessor and the CLI.

A coordinate is scored, most certain first: CF ``standard_name`` (``latitude``,
``longitude``, ``time``; a coordinate that has another standard_name, such as
``grid_latitude`` on a rotated grid, is never taken), CF ``units``
(``degrees_north``/``degrees_east`` and their aliases), ``axis`` (``Y``/``X`` with
units in degrees, ``T``), then the usual names (``lat``, ``latitude``, ``nav_lat``,
``XLAT``, ...) without other units. ``x``/``y`` are never taken for longitude/latitude.

cf-xarray was considered for this table and not adopted: its axis/coordinate guess
(``guess_coord_axis``) takes names by regular expression (``x``/``y`` and ``*lon*``
included), which the geographic metric must not do, and the table here is 40 lines
with no extra dependency or import time.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any, Literal

__all__ = ["KINDS", "kind_of", "score"]

Kind = Literal["lat", "lon", "time"]
KINDS: tuple[Kind, ...] = ("lat", "lon", "time")

_UNITS = {
    "lat": {"degrees_north", "degree_north", "degrees_n", "degree_n", "degreesn", "degreen"},
    "lon": {"degrees_east", "degree_east", "degrees_e", "degree_e", "degreese", "degreee"},
    "time": set(),
}
_NAMES = {
    "lat": {"lat", "latitude", "nav_lat", "lats", "xlat", "lat_0", "g0_lat_0"},
    "lon": {"lon", "longitude", "nav_lon", "lons", "xlong", "long", "lon_0", "g0_lon_1"},
    "time": {"time", "t", "valid_time", "xtime"},
}
_AXIS = {"lat": "Y", "lon": "X", "time": "T"}
STANDARD = {"lat": "latitude", "lon": "longitude", "time": "time"}
_GENERIC_DEGREES = {"degrees", "degree", "deg"}


def score(name: Hashable, attrs: Mapping[Any, Any], kind: Kind) -> int:
    """How surely a coordinate is of ``kind`` (``"lat"``, ``"lon"``, ``"time"``); 0: not.

    Examples
    --------
    >>> score("y", {"units": "degrees_north"}, "lat"), score("x", {}, "lon")
    (3, 0)
    >>> score("rlat", {"standard_name": "grid_latitude"}, "lat")
    0
    """
    standard = attrs.get("standard_name")
    if isinstance(standard, str) and standard:
        return 4 if standard == STANDARD[kind] else 0
    units = str(attrs.get("units", "")).strip().lower()
    if kind == "time":
        if attrs.get("axis") == "T":
            return 2
        return 1 if str(name).lower() in _NAMES["time"] else 0
    if units in _UNITS[kind]:
        return 3
    if attrs.get("axis") == _AXIS[kind] and units in _GENERIC_DEGREES:
        return 2
    if str(name).lower() in _NAMES[kind] and units in _GENERIC_DEGREES | {""}:
        return 1
    return 0


def kind_of(name: str) -> Kind | None:
    """The kind a user's name asks for: ``"lat"`` for lat/latitude, ... (None: a plain name).

    Examples
    --------
    >>> kind_of("Latitude"), kind_of("lon"), kind_of("x")
    ('lat', 'lon', None)
    """
    lowered = name.lower()
    for kind in KINDS:
        if lowered in (kind, STANDARD[kind]) or (kind == "lon" and lowered == "long"):
            return kind
    return None
