"""Attributes of derived variables: the ``keep_attrs`` policy.

The policy (the same for ``differentiate``, ``gradient``, ``divergence`` and
``vorticity``), chosen with ``keep_attrs``:

- ``None`` (default), *derived attributes*: when the input variable has attrs,
  the output gets exactly two, ``units`` (the input's units divided by the
  coordinate's, e.g. ``K`` and ``m`` give ``K m-1``, by :func:`daskgrad._units.divide`;
  left out when either is unknown or unreadable) and ``long_name`` (what the
  variable is, e.g. ``derivative of 2 metre temperature with respect to time``). An
  input without attrs gives an output without attrs, so the result is identical to
  xarray's ``differentiate``.
- ``False``: no attrs at all (xarray's behaviour).
- ``True``: the input's attrs, less those that describe its values
  (``standard_name``, ``valid_range``, ``_FillValue``, ...), plus the derived
  ``units`` and ``long_name``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._units import divide

__all__ = ["derived_attrs"]

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
    units = divide(attrs.get("units"), coord_units)
    if units is not None:
        out["units"] = units
    out["long_name"] = what.format(_describe(attrs, name))
    return out
