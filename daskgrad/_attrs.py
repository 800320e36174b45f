"""Attributes of derived variables: units algebra and the ``keep_attrs`` policy.

The policy (the same for ``differentiate``, ``gradient``, ``divergence`` and
``vorticity``), chosen with ``keep_attrs``:

- ``None`` (default), *derived attributes*: when the input variable has attrs,
  the output gets exactly two, ``units`` (the input's units divided by the
  coordinate's, e.g. ``K`` and ``m`` give ``K m-1``; left out when either is
  unknown) and ``long_name`` (what the variable is, e.g. ``derivative of 2 metre
  temperature with respect to time``). An input without attrs gives an output
  without attrs, so the result is identical to xarray's ``differentiate``.
- ``False``: no attrs at all (xarray's behaviour).
- ``True``: the input's attrs, less those that describe its values
  (``standard_name``, ``valid_range``, ``_FillValue``, ...), plus the derived
  ``units`` and ``long_name``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["derived_attrs", "divide_units", "time_units"]

# attrs that describe the values of a variable, and so are wrong for its derivative
_VALUE_ATTRS = frozenset(
    {
        "units",
        "long_name",
        "standard_name",
        "valid_min",
        "valid_max",
        "valid_range",
        "actual_range",
        "actual_min",
        "actual_max",
        "scale_factor",
        "add_offset",
        "_FillValue",
        "missing_value",
        "flag_values",
        "flag_meanings",
        "flag_masks",
        "ancillary_variables",
        "standard_error_multiplier",
    }
)
_DEGREE_UNITS = frozenset(
    {
        "degrees_north",
        "degree_north",
        "degrees_n",
        "degree_n",
        "degreesn",
        "degreen",
        "degrees_east",
        "degree_east",
        "degrees_e",
        "degree_e",
        "degreese",
        "degreee",
        "degrees",
        "degree",
        "deg",
    }
)
_NUMPY_TIME_UNITS = {
    "W": "week",
    "D": "day",
    "h": "h",
    "m": "min",
    "s": "s",
    "ms": "ms",
    "us": "us",
    "ns": "ns",
    "ps": "ps",
    "fs": "fs",
    "as": "as",
}
_TOKEN = re.compile(r"^([A-Za-z_%][A-Za-z_%]*?)(?:\^|\*\*)?([+-]?\d+)?$")


def time_units(datetime_unit: str) -> str:
    """UDUNITS spelling of a NumPy datetime unit (``"D"`` -> ``"day"``).

    Examples
    --------
    >>> time_units("D"), time_units("s"), time_units("m")
    ('day', 's', 'min')
    """
    return _NUMPY_TIME_UNITS.get(datetime_unit, datetime_unit)


def _parse(units: str) -> list[tuple[str, int]] | None:
    """``"kg m-2 s-1"`` -> ``[("kg", 1), ("m", -2), ("s", -1)]``; None if not understood."""
    text = units.strip()
    if text in ("", "1"):
        return []
    parts = text.split("/")
    if len(parts) > 2:
        return None
    terms: list[tuple[str, int]] = []
    for sign, part in zip((1, -1), parts, strict=False):
        tokens = part.replace(".", " ").split()
        if not tokens and sign == -1:
            return None
        for token in tokens:
            if token == "1":
                continue
            match = _TOKEN.match(token)
            if match is None:
                return None
            name, exponent = match.group(1), int(match.group(2) or 1)
            terms.append((name, sign * exponent))
    return terms


def _format(terms: list[tuple[str, int]]) -> str:
    combined: dict[str, int] = {}
    for name, exponent in terms:
        combined[name] = combined.get(name, 0) + exponent
    out = [name if e == 1 else f"{name}{e}" for name, e in combined.items() if e != 0]
    return " ".join(out) if out else "1"


def _normalise(units: str) -> str:
    return "degree" if units.strip().lower() in _DEGREE_UNITS else units.strip()


def divide_units(numerator: Any, denominator: Any) -> str | None:
    """UDUNITS-style ``numerator / denominator``, simplified; None if either is unknown.

    Degree-like units (``degrees_north``, ``degrees_east``, ...) count as ``degree``.
    Units the small parser does not understand are kept in parentheses.

    Examples
    --------
    >>> divide_units("K", "m"), divide_units("m s-1", "m"), divide_units("m2 s-2", "m")
    ('K m-1', 's-1', 'm s-2')
    >>> divide_units("kg/kg", "m"), divide_units("K", "degrees_north"), divide_units("K", None)
    ('m-1', 'K degree-1', None)
    """
    if not isinstance(numerator, str) or not isinstance(denominator, str):
        return None
    num, den = _normalise(numerator), _normalise(denominator)
    if not num or not den:
        return None
    num_terms, den_terms = _parse(num), _parse(den)
    inverse = [(n, -e) for n, e in den_terms] if den_terms is not None else None
    if num_terms is None or inverse is None:
        left = num if num_terms is not None else f"({num})"
        right = _format(inverse) if inverse is not None else f"({den})-1"
        return f"{left} {right}"
    return _format(num_terms + inverse)


def _describe(attrs: Mapping[Any, Any], name: Any) -> str:
    for key in ("long_name", "standard_name"):
        value = attrs.get(key)
        if isinstance(value, str) and value:
            return value.replace("_", " ") if key == "standard_name" else value
    return str(name) if name is not None else "the data"


def derived_attrs(
    attrs: Mapping[Any, Any],
    name: Any,
    *,
    what: str,
    coord_units: str | None,
    keep_attrs: bool | None,
) -> dict[str, Any]:
    """The attrs of a derived variable under the ``keep_attrs`` policy (module doc).

    ``what`` is a format string for the long_name with ``{}`` standing for the
    input's description, e.g. ``"derivative of {} with respect to time"``;
    ``coord_units`` is the unit of the quantity divided by (None if unknown).

    Examples
    --------
    >>> derived_attrs({"units": "K", "long_name": "2 metre temperature", "source": "x"}, "t2m",
    ...               what="derivative of {} with respect to time", coord_units="s",
    ...               keep_attrs=None)
    {'units': 'K s-1', 'long_name': 'derivative of 2 metre temperature with respect to time'}
    >>> derived_attrs({}, "t2m", what="derivative of {}", coord_units="s", keep_attrs=None)
    {}
    """
    if keep_attrs is not None and not isinstance(keep_attrs, bool):
        raise TypeError(f"keep_attrs: expected None, True or False, got {keep_attrs!r}")
    if keep_attrs is False or (keep_attrs is None and not attrs):
        return {}
    out: dict[str, Any] = {}
    if keep_attrs:
        out.update({k: v for k, v in attrs.items() if k not in _VALUE_ATTRS})
    units = divide_units(attrs.get("units"), coord_units)
    if units is not None:
        out["units"] = units
    out["long_name"] = what.format(_describe(attrs, name))
    return out
