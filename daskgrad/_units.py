"""CF ``units`` strings, read by cf-units (UDUNITS-2, the library CF defines them by).

What the output attrs say (the ``keep_attrs`` policy is :mod:`daskgrad._attrs`):

- :func:`divide`: ``units`` of a derivative, the input's units divided by the
  coordinate's, never rescaled: ``K`` and ``km`` give ``K km-1`` (not ``0.001 K
  m-1``), ``cm s-1`` and ``m`` give ``cm s-1 m-1``, ``degC`` and ``m`` give ``degC
  m-1`` (a difference of temperature per metre: UDUNITS drops the offset in a
  product). A unit that appears on both sides cancels, however it is spelled
  (``meter`` and ``m`` are one unit for UDUNITS). The input's own spelling is kept;
  where that cannot be done (parentheses, ``10-6 m2``, ...) UDUNITS' reading of it in
  base units is, provided that says the same exactly (UDUNITS checks every output). A string
  UDUNITS cannot read, or reads as no positive amount (ERA5's ``(0 - 1)``, ``~``,
  ``-1``), gives no units at all; reading never raises.
- :func:`vector_units`: one unit for the vector ``(u, v)``: units equal as units
  (``m s-1`` and ``m/s``) are the same unit; compatible ones (``knots`` and ``m
  s-1``) give the factor that converts v to u's units; incompatible ones raise.

cf-units is imported on first use only, so that ``import daskgrad`` does not pay
for it (about 0.2 s); without it, ``units`` attrs are left out with a warning.
"""

from __future__ import annotations

import functools
import re
import warnings
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cf_units import Unit

__all__ = ["divide", "read", "same_units", "time_unit", "vector_units"]

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
# one factor of a UDUNITS product: a name with an optional integer power (m, m2, m-2, m^2)
_POWER = re.compile(r"^((?:[^\W\d]|[%°'\"])+)\^?([+-]?\d+)?$")
_NUMBER = re.compile(r"^\+?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")
Terms = list[tuple[str, int]]


def time_unit(datetime_unit: str) -> str:
    """UDUNITS spelling of a NumPy datetime unit (``"D"`` -> ``"day"``).

    Examples
    --------
    >>> time_unit("D"), time_unit("s"), time_unit("m")
    ('day', 's', 'min')
    """
    return _NUMPY_TIME_UNITS.get(datetime_unit, datetime_unit)


def _library() -> Any:
    try:
        import cf_units
    except Exception as err:  # not installed, or built against another NumPy
        warnings.warn(
            f"daskgrad: cannot import cf-units ({err}); output 'units' attrs are left out "
            "(pip install 'daskgrad[xarray]')",
            RuntimeWarning,
            stacklevel=4,
        )
        return None
    return cf_units


def _positive(unit: Unit) -> bool:
    # the definition is in base units, its number first: "-1 1", "0.01 m", "K @ 273.15"
    first = unit.definition.split("@")[0].split()
    try:
        return float(first[0]) > 0
    except (IndexError, ValueError):
        return True  # no number: a factor of 1


@functools.lru_cache(maxsize=1024)
def _read(text: str) -> Unit | None:
    cf_units = _library()
    if cf_units is None:
        return None
    try:
        with cf_units.suppress_errors():
            unit = cf_units.Unit(text)
        if unit.is_unknown() or unit.is_no_unit() or unit.is_time_reference():
            return None
        return unit if _positive(unit) else None
    except Exception:  # UDUNITS' parse errors are ValueErrors; nothing here may raise
        return None


def read(text: object) -> Unit | None:
    """The :class:`cf_units.Unit` a CF ``units`` string means, or None.

    None for anything but a string, for a string UDUNITS cannot read, for a time
    reference (``days since ...``) and for a unit that is no positive amount.

    Examples
    --------
    >>> read("m/s") == read("meter second-1"), read("knots").convert(1.0, "m s-1")
    (True, 0.5144444444444445)
    >>> read("(0 - 1)"), read("-1"), read("foo bar"), read(None)
    (None, None, None, None)
    """
    if not isinstance(text, str) or not text.strip():
        return None
    return _read(str(text).strip())


def same_units(a: object, b: object) -> bool:
    """Whether two strings are one unit (ratio 1) for UDUNITS; False if either is unread.

    Examples
    --------
    >>> same_units("m", "meter"), same_units("m", "km"), same_units("foo", "foo")
    (True, False, False)
    """
    unit_a, unit_b = read(a), read(b)
    return unit_a is not None and unit_b is not None and bool(unit_a == unit_b)


def _terms(text: str) -> tuple[str | None, Terms] | None:
    """``"kg/m^2/s"`` -> ``(None, [("kg", 1), ("m", -2), ("s", -1)])``; None if not a product.

    UDUNITS' grammar: factors joined by spaces, ``.`` or ``*``; ``/`` divides by the
    factor that follows only (``m / s K`` is ``m K s-1``); a power is written ``m2``,
    ``m^2`` or ``m**2``. A leading number is kept as written (the first item).
    """
    text = re.sub(r"\s*(\*\*|\^)\s*", "^", text)
    tokens: list[str] = []
    for token in re.findall(r"/|[^\s*/]+", text):
        tokens.extend([token] if _NUMBER.match(token) else token.split("."))
    number: str | None = None
    terms: Terms = []
    sign = 1
    for token in tokens:
        if token == "/":
            if sign == -1:
                return None
            sign = -1
            continue
        if _NUMBER.match(token):
            if float(token) == 1:
                pass
            elif number is not None or terms or sign == -1:
                return None
            else:
                number = token
        elif (match := _POWER.match(token)) is not None:
            terms.append((match.group(1), sign * int(match.group(2) or 1)))
        else:
            return None
        sign = 1
    return None if sign == -1 else (number, terms)


def _combine(terms: Terms) -> Terms:
    """Add the powers of factors that are one unit (``m``, ``meter``), in the first spelling."""
    degree = read("degree")
    out: dict[str, int] = {}
    for name, power in terms:
        unit = read(name)
        if unit is not None and unit == degree:
            name = "degree"  # degrees_north, degrees_east, deg, ...
        match = next((key for key in out if key == name or same_units(key, name)), name)
        out[match] = out.get(match, 0) + power
    return [(name, power) for name, power in out.items() if power != 0]


def _format(number: str | None, terms: Terms) -> str:
    words = [name if power == 1 else f"{name}{power}" for name, power in terms]
    return " ".join(([number] if number is not None else []) + words) or "1"


def _spelled(numerator: str, denominator: str) -> str | None:
    """The quotient in the inputs' own spelling, or None if a string is not a product."""
    num, den = _terms(numerator), _terms(denominator)
    if num is None or den is None or den[0] is not None:
        return None
    return _format(num[0], _combine(num[1] + [(name, -power) for name, power in den[1]]))


def _base(unit: Unit) -> str:
    """UDUNITS' base-unit definition in CF layout: ``"100 m-2.kg.s-2"`` -> ``"100 m-2 kg s-2"``."""
    words = unit.definition.split()
    return " ".join(w if _NUMBER.match(w) else w.replace(".", " ") for w in words)


def _equal(a: Unit | None, b: Unit) -> bool:
    """``a`` is ``b`` to rounding (``mm day-2`` and ``mm/day`` / ``day``), offsets included."""
    if a is None or not a.is_convertible(b):
        return False
    try:
        offset = float(a.convert(0.0, b))
        factor = float(a.convert(1.0, b)) - offset
    except Exception:
        return bool(a == b)
    return abs(factor - 1.0) <= 1e-12 and abs(offset) <= 1e-12


def divide(numerator: object, denominator: object) -> str | None:
    """CF ``units`` of ``numerator / denominator``, never rescaled; None if unknown.

    Examples
    --------
    >>> divide("K", "m"), divide("m s-1", "m"), divide("m**2 s**-2", "m")
    ('K m-1', 's-1', 'm s-2')
    >>> divide("kg/m^2/s", "m"), divide("meter / second", "m"), divide("cm s-1", "m")
    ('kg m-3 s-1', 'second-1', 'cm s-1 m-1')
    >>> divide("degC", "m"), divide("hPa", "km"), divide("kg kg**-1", "degrees_north")
    ('degC m-1', 'hPa km-1', 'degree-1')
    >>> divide("(0 - 1)", "m"), divide("m of water equivalent", "m"), divide("K", None)
    (None, None, None)
    """
    num, den = read(numerator), read(denominator)
    if num is None or den is None:
        return None
    try:
        with _library().suppress_errors():
            expected = num / den
    except Exception:  # logarithmic units (dB) cannot be divided
        return None
    den = str(denominator).strip()
    # the input's spelling; else its UDUNITS reading in base units (``(m/s)``, ``10-6 m2``)
    # over the coordinate's spelling; else the quotient in base units
    for text in (str(numerator).strip(), _base(num)):
        spelled = _spelled(text, den)
        if spelled is not None and _equal(read(spelled), expected):
            return spelled
    text = _base(expected)
    return text if _equal(read(text), expected) else None


def vector_units(u_units: object, v_units: object) -> tuple[str | None, float]:
    """The units of the vector ``(u, v)`` and the factor that converts v into them.

    ``(u_units, 1.0)`` when both are one unit; ``(u_units, factor)`` when v is
    compatible but different (multiply v by ``factor``: a difference, offsets
    aside, as derivatives are); ``(None, 1.0)`` when either is absent or unread.

    Raises
    ------
    ValueError
        If UDUNITS reads both and they are incompatible (``m s-1`` and ``K``).

    Examples
    --------
    >>> vector_units("m s-1", "m/s"), vector_units("m s-1", "knots")
    (('m s-1', 1.0), ('m s-1', 0.5144444444444445))
    >>> vector_units("m s-1", None), vector_units("foo", "foo")
    ((None, 1.0), (None, 1.0))
    """
    u, v = read(u_units), read(v_units)
    if u is None or v is None:
        return None, 1.0
    if u == v:
        return str(u_units), 1.0
    if not v.is_convertible(u):
        raise ValueError(
            f"u and v: units {str(u_units)!r} and {str(v_units)!r} are not compatible; "
            "a vector's components need units of one kind"
        )
    return str(u_units), float(v.convert(1.0, u) - v.convert(0.0, u))
