"""pint-backed input: stripped to magnitudes and units at the entry points, rewrapped after.

A ``pint.Quantity`` (NumPy or Dask inside) given to :func:`daskgrad.gradient`, and
xarray objects whose data or coordinates are Quantities (pint-xarray's
``quantify()``, MetPy's ``quantify()``), are differentiated as their magnitudes: the
array and label layers never see a Quantity (so no ``UnitStrippedWarning``, no
eager computation of Dask inside pint, and no unit arithmetic in the kernels). The
results are Quantities of the input's own registry (any ``UnitRegistry``; pint's
application registry is never read or changed) whose units are the data's divided
by the coordinate's, as pint writes a quotient: never converted or reduced, so
metres over kilometres stay ``meter / kilometer``.

Coordinate units, in order: ``meter`` on a geographic axis (``geographic=True``);
the ``datetime_unit`` on a time axis; a pint coordinate's units; the coordinate's
``units`` attribute read by the input's registry (CF exponents such as ``m s-1``
and ``degrees_north`` included); ``dimensionless`` for a coordinate without units
or a dimension without coordinate (as ``numpy.gradient`` on a Quantity with plain
spacing). A ``units`` attribute the registry cannot read is a ValueError: a
derivative in wrong units would be a silent wrong answer.

pint is never imported here: a Quantity is recognised by ``isinstance`` against
``sys.modules["pint"].Quantity`` (an object of a module never imported cannot exist),
so ``import daskgrad`` costs nothing more.
"""

from __future__ import annotations

import dataclasses
import re
import sys
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any

__all__ = [
    "Stripped",
    "check_pair",
    "finish",
    "gradient",
    "has_quantity",
    "is_quantity",
    "parse_units",
    "restore",
    "same_units",
    "strip",
    "strip_pair",
    "wrap",
]

_ARRAY = "<DataArray>"  # the key of a DataArray's own data in Stripped.data
_DEGREES = frozenset(
    {"degrees_north", "degree_north", "degrees_n", "degree_n", "degreesn", "degreen"}
    | {"degrees_east", "degree_east", "degrees_e", "degree_e", "degreese", "degreee"}
    | {"degrees", "deg"}
)
_CF_EXPONENT = re.compile(r"(?<=[A-Za-z_])(\*\*|\^)?([+-]?\d+)(?![\w.])")


def is_quantity(x: Any) -> bool:
    """Whether ``x`` is a ``pint.Quantity`` (of any registry), without importing pint.

    Examples
    --------
    >>> import numpy as np, pint
    >>> is_quantity(pint.UnitRegistry().Quantity(np.ones(2), "m")), is_quantity(np.ones(2))
    (True, False)
    """
    pint = sys.modules.get("pint")
    return pint is not None and isinstance(x, pint.Quantity)


def _values(value: Any) -> Iterable[Any]:
    if isinstance(value, Mapping):
        return value.values()
    if isinstance(value, (list, tuple)):
        return value
    return (value,)


def has_quantity(f: Any, varargs: tuple[Any, ...], spacing: Any, period: Any) -> bool:
    """Whether any argument of :func:`daskgrad.gradient` is a Quantity (cheap when
    pint was never imported)."""
    if "pint" not in sys.modules:
        return False
    if is_quantity(getattr(f, "_meta", None)):  # Dask of pint chunks (DataArray.chunk)
        raise TypeError(
            "f: a Dask array of pint chunks; put pint around Dask instead (pint-xarray's "
            "obj.pint.chunk(), or ureg.Quantity(dask_array, units))"
        )
    args = (f, *varargs, *_values(spacing), *_values(period))
    return any(is_quantity(a) for a in args)


def _registry(quantities: Iterable[Any]) -> Any:
    registries = {id(q._REGISTRY): q._REGISTRY for q in quantities if is_quantity(q)}
    if len(registries) > 1:
        raise ValueError(
            "pint: the quantities come from different unit registries; make them with one "
            "UnitRegistry"
        )
    return next(iter(registries.values()))


def parse_units(registry: Any, text: str, name: Hashable = None) -> Any:
    """``text`` (pint or CF/UDUNITS spelling) as a unit of ``registry``, else ValueError.

    Degree spellings of CF coordinates (``degrees_north``, ``degrees_east``, ...) are
    ``degree`` when the registry does not define them; CF exponents (``m s-1``,
    ``m2``) are read as powers.

    Examples
    --------
    >>> import pint
    >>> ureg = pint.UnitRegistry()
    >>> parse_units(ureg, "km"), parse_units(ureg, "m s-1"), parse_units(ureg, "degrees_north")
    (<Unit('kilometer')>, <Unit('meter / second')>, <Unit('degree')>)
    >>> parse_units(ureg, "hours since 1900-01-01", "time")
    Traceback (most recent call last):
    ...
    ValueError: time: units 'hours since 1900-01-01' cannot be read by the input's pint registry...
    """
    attempts = [text.strip()]
    if attempts[0].lower() in _DEGREES:
        attempts.append("degree")
    attempts.append(_CF_EXPONENT.sub(r"**\2", attempts[0]))
    for attempt in attempts:
        try:
            unit = registry.parse_units(attempt)
        except Exception:  # pint raises many kinds (UndefinedUnitError, TypeError, ...)
            continue
        if type(unit).__name__ == "Unit":
            return unit
    label = "units" if name is None else f"{name}: units"
    raise ValueError(
        f"{label} {text!r} cannot be read by the input's pint registry, so the derivative's "
        "units are unknown; quantify the coordinate (pint-xarray) or fix its units attribute"
    )


def gradient(
    func: Callable[..., Any],
    f: Any,
    varargs: tuple[Any, ...],
    spacing: Any,
    period: Any,
    **options: Any,
) -> Any:
    """``func`` (:func:`daskgrad.gradient`) on the magnitudes, results as Quantities in
    ``f``'s units over each axis's spacing units (dimensionless for plain spacing).

    Examples
    --------
    >>> import numpy as np, pint, daskgrad
    >>> ureg = pint.UnitRegistry()
    >>> x = ureg.Quantity(np.array([0.0, 1.0, 2.0]), "km")
    >>> daskgrad.gradient(ureg.Quantity(np.array([0.0, 1.0, 4.0]), "m"), x)
    <Quantity([1. 2. 3.], 'meter / kilometer')>
    """
    registry = _registry((f, *varargs, *_values(spacing), *_values(period)))
    dimensionless = registry.dimensionless
    data, units = (f.magnitude, f.units) if is_quantity(f) else (f, dimensionless)

    def split(value: Any) -> tuple[Any, Any]:
        return (value.magnitude, value.units) if is_quantity(value) else (value, dimensionless)

    steps = [split(v) for v in varargs]
    if isinstance(spacing, (list, tuple)):
        spacings: Any = [split(s) for s in spacing]
        spacing = type(spacing)(m for m, _ in spacings)
    elif spacing is not None:
        spacings = [split(spacing)]
        spacing = spacings[0][0]
    else:
        spacings = steps
    period = _period(period, [u for _, u in spacings])
    out = func(data, *(m for m, _ in steps), spacing=spacing, period=period, **options)
    single = not isinstance(out, tuple)
    results = (out,) if single else out
    per = [u for _, u in spacings] or [dimensionless]
    if len(per) == 1:
        per = per * len(results)
    wrapped = tuple(registry.Quantity(r, units / p) for r, p in zip(results, per, strict=True))
    return wrapped[0] if single else wrapped


def _period(period: Any, units: list[Any]) -> Any:
    """``period`` as a number in the spacing's units (one common unit when a Quantity)."""
    if not any(is_quantity(p) for p in _values(period)):
        return period
    common = {str(u) for u in units if str(u) != "dimensionless"}
    if len(common) != 1:
        raise ValueError(
            "period: a Quantity needs every coordinate in one unit; give it as a number "
            "in the coordinate's units"
        )
    target = next(u for u in units if str(u) in common)
    if isinstance(period, Mapping):
        return {k: p.to(target).magnitude if is_quantity(p) else p for k, p in period.items()}
    return period.to(target).magnitude


@dataclasses.dataclass(frozen=True)
class Stripped:
    """What :func:`strip` took off an xarray object, to put back on its results."""

    registry: Any
    original: Any  # the pint-backed input object
    data: Mapping[Hashable, Any]  # units of each pint data variable (a DataArray: _ARRAY)
    quantified: frozenset[Hashable]  # names of every pint variable (data and coordinates)
    known: Mapping[str, Any]  # str(units) -> units of the pint coordinates

    def coordinate_units(self, units: str | None, name: Hashable = None) -> Any:
        """A coordinate's units (an ``Axis.units`` string) as a unit of the registry."""
        if units is None:
            return self.registry.dimensionless
        if units in self.known:
            return self.known[units]
        return parse_units(self.registry, units, name)


def strip(obj: Any) -> tuple[Any, Stripped | None]:
    """``obj`` with its pint variables as their magnitudes, and what was taken off.

    As ``obj.pint.dequantify()``: coordinates get a ``units`` attribute (``str`` of
    their units, so that CF detection sees them); data variables lose theirs, if any
    (their units are the pint units; other attrs follow the attrs policy). ``(obj,
    None)`` when nothing in ``obj`` is pint.
    """
    if "pint" not in sys.modules:
        return obj, None
    import xarray as xr

    array = isinstance(obj, xr.DataArray)
    variables = dict(obj.coords.variables)
    if array:
        variables[_ARRAY] = obj.variable
    else:
        variables.update(obj.data_vars.variables)
    pint = {n: v for n, v in variables.items() if is_quantity(v.data)}
    if not pint:
        return obj, None
    registry = _registry(v.data for v in pint.values())
    coords = [n for n in pint if n in obj.coords]
    plain = {n: _magnitude(pint[n], n in obj.coords) for n in pint}
    out = obj.drop_vars(coords).assign_coords({n: plain[n] for n in coords})
    if array:
        out = out.copy(data=plain[_ARRAY].data) if _ARRAY in plain else out
    else:
        out = out.assign({n: plain[n] for n in pint if n not in obj.coords})
    data = {n: v.data.units for n, v in pint.items() if n not in obj.coords}
    known = {str(pint[n].data.units): pint[n].data.units for n in coords}
    return out, Stripped(registry, obj, data, frozenset(pint) - {_ARRAY}, known)


def _magnitude(var: Any, coordinate: bool) -> Any:
    import xarray as xr

    attrs = dict(var.attrs)
    if coordinate:
        attrs["units"] = str(var.data.units)
    else:  # the data carries its units: a units attr beside them is stale
        attrs.pop("units", None)
    return xr.Variable(var.dims, var.data.magnitude, attrs, var.encoding)


def wrap(
    stripped: Stripped | None,
    var: Any,
    name: Hashable,
    coord_units: str | None,
    coord: Hashable = None,
) -> Any:
    """An output ``xarray.Variable`` of data variable ``name`` as a Quantity in its units
    over ``coord_units`` (the ``Axis.units`` string of coordinate ``coord``); its
    ``units`` attr is dropped (the data carries them). Unchanged when ``name`` was not
    pint-backed."""
    if stripped is None:
        return var
    units = stripped.data.get(_ARRAY if _ARRAY in stripped.data else name)
    if units is None:
        return var
    import xarray as xr

    per = stripped.coordinate_units(coord_units, coord)
    attrs = {k: v for k, v in var.attrs.items() if k != "units"}
    return xr.Variable(var.dims, stripped.registry.Quantity(var.data, units / per), attrs)


def restore(stripped: Stripped | None, result: Any) -> Any:
    """``result`` with the input's pint coordinates (indexes included) and its untouched
    pint data variables (a Dataset's variables passed through) put back."""
    if stripped is None:
        return result
    import xarray as xr

    original = stripped.original
    names = [n for n in stripped.quantified if n in result.coords]
    if names:
        indexes = {n: original.xindexes[n] for n in names if n in original.xindexes}
        coords = xr.Coordinates({n: original[n].variable for n in names}, indexes=indexes)
        result = result.drop_vars(names).assign_coords(coords)
    if isinstance(result, xr.Dataset):
        passed = [
            n
            for n in stripped.quantified
            if n in result.data_vars and not is_quantity(result[n].data)
        ]
        result = result.assign({n: original[n].variable for n in passed}) if passed else result
    return result


def finish(stripped: Stripped | None, result: Any, coord_units: str | None) -> Any:
    """A DataArray result of :func:`strip_pair`'s (u, v): data in u's units over
    ``coord_units``, the input's pint coordinates restored."""
    if stripped is None:
        return result
    var = wrap(stripped, result.variable, _ARRAY, coord_units)
    out = result.copy(data=var.data)
    out.attrs = var.attrs
    return restore(stripped, out)


def check_pair(u: Any, v: Any) -> None:
    """ValueError unless the DataArrays u and v are both pint-backed, with compatible
    units of one registry, or neither is (nothing is computed)."""
    pu, pv = is_quantity(u.data), is_quantity(v.data)
    if pu != pv:
        which, other = ("u", "v") if pu else ("v", "u")
        raise ValueError(
            f"u and v: {which} is pint-backed and {other} is not; quantify both (or neither)"
        )
    if pu:
        _registry((u.data, v.data))
        if not u.data.is_compatible_with(v.data.units):
            raise ValueError(
                f"u and v: incompatible units ({u.data.units} and {v.data.units}); "
                "a vector's components must have one dimensionality"
            )


def strip_pair(u: Any, v: Any) -> tuple[Any, Any, Stripped | None]:
    """u and v (aligned DataArrays, :func:`check_pair` passed) stripped; v's data
    converted to u's units first (``v.to(u.units)``, lazy on Dask). The result's units
    are u's."""
    if is_quantity(u.data) and v.data.units != u.data.units:
        v = v.copy(data=v.data.to(u.data.units))
    u, stripped = strip(u)
    v, _ = strip(v)
    return u, v, stripped


def same_units(stripped: Stripped | None, x: Any, y: Any) -> tuple[Any, Any]:
    """The x and y ``Axis`` of a Cartesian operator in x's units: y's coordinate values
    are converted when its units differ (compatible, else ValueError)."""
    if stripped is None or x.units == y.units:
        return x, y
    ux = stripped.coordinate_units(x.units, x.name)
    uy = stripped.coordinate_units(y.units, y.name)
    try:
        factor = stripped.registry.Quantity(1.0, uy).to(ux).magnitude
    except Exception:  # pint's DimensionalityError
        raise ValueError(
            f"dims: x ({x.name!r}, {ux}) and y ({y.name!r}, {uy}) coordinates have "
            "incompatible units"
        ) from None
    period = None if y.period is None else y.period * factor
    return x, dataclasses.replace(y, spacing=y.spacing * factor, period=period, units=x.units)
