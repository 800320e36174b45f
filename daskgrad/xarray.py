"""The ``grad`` accessor on xarray DataArrays and Datasets.

``import daskgrad`` registers it. The accessor translates labels into axis
numbers and spacings (coordinates, datetime coordinates as numbers, geographic
metric factors) and calls :func:`daskgrad.gradient` once per variable; it keeps
Dask-backed data lazy and its chunks as they are.

Attributes follow the ``keep_attrs`` policy of :mod:`daskgrad._attrs`: by
default (``keep_attrs=None``) an input with attrs gives an output with only a
derived ``units`` (e.g. ``K m-1``) and ``long_name``; an input without attrs
gives an output without attrs, identical to xarray's ``differentiate``.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Iterable, Mapping
from typing import Any, Generic, TypeVar

import xarray as xr

from . import _curvilinear, _geo, _pint
from ._attrs import derived_attrs
from ._labels import Axis, check_keys, is_datetime_like, partials, resolve_axes
from ._plan import check_nan_policy, check_uniform_period
from .typing import Boundary, EdgeOrder, NanPolicy

__all__ = ["GradDataArrayAccessor", "GradDatasetAccessor"]

_ObjT = TypeVar("_ObjT", xr.DataArray, xr.Dataset)


def _what(axis: Axis) -> str:
    if axis.kind == "lat":
        return "northward derivative of {}"
    if axis.kind == "lon":
        return "eastward derivative of {}"
    return f"derivative of {{}} with respect to {axis.name}"


def _result_variable(
    data: Any,
    source: xr.Variable,
    name: Any,
    axis: Axis,
    keep_attrs: bool | None,
    pint: _pint.Stripped | None = None,
) -> xr.Variable:
    attrs = derived_attrs(
        source.attrs, name, what=_what(axis), coord_units=axis.units, keep_attrs=keep_attrs
    )
    var = xr.Variable(source.dims, data, attrs)
    return _pint.wrap(pint, var, name, axis.units, axis.name)  # pint-backed: a Quantity


def _options(
    obj: Any, names: Iterable[Hashable], geographic: bool, radius: Any, **kw: Any
) -> tuple[list[Axis], _geo.Geo | None]:
    geo = _geo.geo_of(obj, geographic, radius)
    return resolve_axes(obj, names, geo=geo, **kw), geo


def _data_vars(obj: Any) -> list[tuple[Hashable, xr.DataArray]]:
    if isinstance(obj, xr.DataArray):
        return [("var" if obj.name is None else obj.name, obj)]
    return [(k, obj[k]) for k in obj.data_vars]


def _numeric_vars(obj: Any) -> list[tuple[Hashable, xr.DataArray]]:
    """The data variables to differentiate; a Dataset's non-numeric ones (strings,
    objects) are left out with a UserWarning naming them (as the CLI's default)."""
    pairs = _data_vars(obj)
    if isinstance(obj, xr.DataArray):
        return pairs
    keep: list[tuple[Hashable, xr.DataArray]] = []
    skipped: list[tuple[Hashable, xr.DataArray]] = []
    for name, da in pairs:
        numeric = da.dtype.kind in "biufc" or is_datetime_like(da.variable)
        (keep if numeric else skipped).append((name, da))
    if skipped:
        names = ", ".join(repr(n) for n, _ in skipped)
        warnings.warn(
            f"gradient: skipping non-numeric data variable(s) {names} "
            f"({', '.join(str(da.dtype) for _, da in skipped)})",
            UserWarning,
            stacklevel=4,
        )
    return keep


def check_period(period: Any, axes: list[Axis], obj: Any) -> None:
    """A ``period`` must be about a periodic coordinate, as in the array API.

    A scalar period with no periodic coordinate among ``axes``, or a mapping that
    names a non-periodic one, is a ValueError (a geographic longitude that covers
    the whole circle is periodic by itself, so a period for it is fine). On a
    periodic dimension without coordinate (unit spacing) the period must equal its
    length.
    """
    if period is None:
        return
    mapping = isinstance(period, Mapping)
    for a in axes:
        given = period.get(a.name, period.get(a.dim)) if mapping else period
        if given is None:
            continue
        if not a.periodic and mapping:
            raise ValueError(
                f"period: given for {a.name!r}, which is not periodic (set "
                f"boundary={{{a.name!r}: 'periodic'}}, or leave its period out)"
            )
        if a.periodic and getattr(a.spacing, "ndim", 0) == 0:  # no np.ndim: Dask array-expr
            check_uniform_period(a.spacing, obj.sizes[a.dim], given, repr(a.dim))
    if not mapping and not any(a.periodic for a in axes):
        names = [a.name for a in axes]
        raise ValueError(
            f"period: given, but none of {names} is periodic (set boundary='periodic'; "
            "with geographic=True a longitude covering the whole circle is periodic by itself)"
        )


def _default_names(obj: Any, geo: _geo.Geo | None) -> list[Hashable] | None:
    """dims=None: the horizontal coordinates on a geographic grid, else None (all dims)."""
    if geo is None:
        return None
    names = [n for n in (geo.lat, geo.lon) if obj[n].ndim == 1]
    return sorted(names, key=lambda n: list(obj.dims).index(obj[n].dims[0]))


def _differentiate(
    obj: Any,
    coord: Hashable,
    *,
    edge_order: int,
    datetime_unit: Any,
    keep_attrs: Any,
    nan_policy: str,
    **options: Any,
) -> Any:
    check_nan_policy(nan_policy)
    obj, pint = _pint.strip(obj)  # pint-backed data and coordinates: magnitudes
    if coord in obj.coords and obj[coord].ndim >= 2:
        raise ValueError(
            f"Coordinate {coord} must be 1 dimensional but is {obj[coord].ndim} dimensional "
            "(xarray's words); for the eastward and northward derivatives on a curvilinear "
            "grid use .grad.gradient(geographic=True)"
        )
    (axis,), geo = _options(obj, [coord], datetime_unit=datetime_unit, **options)
    check_period(options.get("period"), [axis], obj)
    unit = axis.time_unit or datetime_unit

    def one(name: Any, da: xr.DataArray) -> xr.Variable:
        (data,) = partials(
            da.variable,
            [axis],
            edge_order=edge_order,
            datetime_unit=unit,
            obj=obj,
            geo=geo,
            nan_policy=nan_policy,
        )
        return _result_variable(data, da.variable, name, axis, keep_attrs, pint)

    if isinstance(obj, xr.DataArray):
        result = xr.DataArray(one(obj.name, obj), coords=obj.coords, name=obj.name)
    else:
        new = {k: one(k, da) for k, da in _data_vars(obj) if axis.dim in da.dims}
        result = obj.assign(new) if new else obj.copy(deep=False)
    return _pint.restore(pint, result)


def _gradient(
    obj: Any,
    dims: Any,
    *,
    edge_order: int,
    datetime_unit: Any,
    keep_attrs: Any,
    geographic: bool,
    radius: Any,
    nan_policy: str,
    **options: Any,
) -> xr.Dataset:
    check_nan_policy(nan_policy)
    obj, pint = _pint.strip(obj)  # pint-backed data and coordinates: magnitudes
    obj = _with_listed_coordinates(obj)
    geo = _geo.geo_of(obj, geographic, radius, curvilinear=True)
    single = dims is not None and (isinstance(dims, str) or not isinstance(dims, Iterable))
    names = [dims] if single else dims
    if geo is not None and geo.curvilinear:
        if datetime_unit is not None:
            raise ValueError("datetime_unit: not used on a curvilinear grid (lat/lon only)")
        result = _gradient_curvilinear(
            obj,
            names,
            geo,
            edge_order=edge_order,
            keep_attrs=keep_attrs,
            nan_policy=nan_policy,
            pint=pint,
            **options,
        )
        return _pint.restore(pint, result)
    names = _default_names(obj, geo) if names is None else list(names)
    kw = dict(datetime_unit=datetime_unit, geo=geo, **options)
    if names is not None:
        fixed = resolve_axes(obj, names, **kw)
    else:
        for arg in ("boundary", "period"):
            check_keys(options.get(arg), set(obj.dims) | set(obj.coords), arg)
    out: dict[Hashable, xr.Variable] = {}
    used: dict[Hashable, Axis] = {a.name: a for a in fixed} if names is not None else {}
    for var_name, da in _numeric_vars(obj):
        axes = fixed if names is not None else resolve_axes(obj, da.dims, strict=False, **kw)
        if not axes or any(a.dim not in da.dims for a in axes):
            continue
        used.update((a.name, a) for a in axes)
        unit = next((a.time_unit for a in axes if a.time_unit), datetime_unit)
        results = partials(
            da.variable,
            axes,
            edge_order=edge_order,
            datetime_unit=unit,
            obj=obj,
            geo=geo,
            nan_policy=nan_policy,
        )
        for data, axis in zip(results, axes, strict=True):
            key = f"d{var_name}_d{axis.name}"
            if key in obj.coords:
                raise ValueError(f"gradient: output name {key!r} is also a coordinate name")
            out[key] = _result_variable(data, da.variable, var_name, axis, keep_attrs, pint)
    check_period(options.get("period"), list(used.values()), obj)
    if not out:
        raise ValueError(f"dims: no data variable has all of the dimensions of {names!r}")
    attrs = dict(obj.attrs) if isinstance(obj, xr.Dataset) else {}
    return _pint.restore(pint, xr.Dataset(out, coords=obj.coords, attrs=attrs))


def _with_listed_coordinates(obj: Any) -> Any:
    """A Dataset whose data variables list others in their ``coordinates`` attribute
    (CF; WRF's XLAT/XLONG) with those made coordinates; anything else as it is."""
    if not isinstance(obj, xr.Dataset):
        return obj
    listed = {
        n
        for da in obj.data_vars.values()
        for n in str(da.attrs.get("coordinates", "")).split()
        if n in obj.data_vars
    }
    return obj.set_coords(sorted(listed, key=str)) if listed else obj


def _gradient_curvilinear(
    obj: Any,
    names: Any,
    geo: _geo.Geo,
    *,
    edge_order: int,
    keep_attrs: Any,
    nan_policy: str,
    boundary: Any = None,
    period: Any = None,
    pint: _pint.Stripped | None = None,
) -> xr.Dataset:
    """``.grad.gradient(geographic=True)`` on 2-D latitude/longitude (:mod:`._curvilinear`)."""
    names = _curvilinear.check_names(None if names is None else list(names), geo)
    out = _curvilinear.gradient_dataset(
        obj,
        _numeric_vars(obj),
        names,
        geo,
        edge_order=edge_order,
        boundary=boundary,
        period=period,
        nan_policy=nan_policy,
        keep_attrs=keep_attrs,
        pint=pint,
    )
    if not out:
        raise ValueError(f"dims: no data variable has the grid dimensions {list(geo.grid or ())}")
    attrs = dict(obj.attrs) if isinstance(obj, xr.Dataset) else {}
    return xr.Dataset(out, coords=obj.coords, attrs=attrs)


class _GradAccessor(Generic[_ObjT]):
    """Shared, stateless implementation of the ``grad`` accessor (holds only ``_obj``).

    Generic in the object's type, so that ``differentiate`` is typed to return it.
    """

    __slots__ = ("_obj",)
    _obj: _ObjT

    def __init__(self, obj: _ObjT) -> None:
        self._obj = obj

    def differentiate(
        self,
        coord: Hashable,
        edge_order: EdgeOrder = 1,
        datetime_unit: Any = None,
        boundary: Boundary | None = None,
        period: float | None = None,
        geographic: bool = False,
        radius: float = _geo.EARTH_RADIUS,
        *,
        keep_attrs: bool | None = None,
        nan_policy: NanPolicy = "propagate",
    ) -> _ObjT:
        """Differentiate along one coordinate: a drop-in for xarray's ``differentiate``.

        Same values (NumPy's second-order central differences, bit for bit), dims,
        coordinates and name as ``obj.differentiate(coord, edge_order,
        datetime_unit)``, for NumPy- and Dask-backed data with any chunking (chunks
        of size 1 included; Dask stays lazy, chunks are kept). Dask-backed
        non-index coordinates work too. Data variables without the dimension pass
        through unchanged. pint-backed data (pint-xarray's or MetPy's ``quantify()``)
        gives pint-backed results in data units over coordinate units (per metre on
        geographic axes), without a ``units`` attr (:mod:`daskgrad._pint`).

        Parameters
        ----------
        coord : hashable
            A 1-D coordinate (index or not) or a dimension without coordinate.
        edge_order : {1, 2}
            Order of the one-sided differences at non-periodic ends.
        datetime_unit : str, optional
            Unit of a datetime64 or cftime coordinate ("D", "h", "s", ...): as in
            xarray, default the coordinate's own resolution for datetime64 (per
            ns or per us!) and "s" for cftime.
        boundary : {None, "none", "periodic"}
            None: "none" (one-sided ends), except a geographic longitude that
            covers the whole circle, which is periodic.
        period : float, optional
            Period of a periodic coordinate (360 by default for a geographic
            longitude).
        geographic : bool
            Differentiate per metre on a sphere when ``coord`` is the latitude
            (``d/dy = 1/R d/dphi``) or longitude (``d/dx = 1/(R cos phi) d/dlam``);
            other coordinates are unaffected. NaN on the poles for d/dx.
        radius : float
            Sphere radius in metres.
        keep_attrs : bool or None
            None: derived ``units``/``long_name`` when the input has attrs, none
            otherwise (then identical to xarray); False: no attrs; True: the
            input's attrs, less value-specific ones, plus the derived ones.
        nan_policy : {"propagate", "omit", "raise"}
            As in :func:`daskgrad.gradient`: ``"omit"`` treats NaN points (land in an
            ocean field, a masked ``where``) as gaps, each run of valid points along
            ``coord`` differentiated on its own; ``"raise"`` refuses NaN.

        Returns
        -------
        DataArray or Dataset
            Same type as the object.

        See Also
        --------
        xarray.DataArray.differentiate, numpy.gradient

        Examples
        --------
        >>> import numpy as np, xarray as xr
        >>> import daskgrad  # registers .grad
        >>> da = xr.DataArray(np.arange(5.0) ** 2, dims="x", coords={"x": np.arange(5.0)})
        >>> da.grad.differentiate("x").values
        array([1., 2., 4., 6., 7.])
        >>> da.where(da.x != 2).grad.differentiate("x", nan_policy="omit").values
        array([ 1.,  1., nan,  7.,  7.])
        """
        return _differentiate(
            self._obj,
            coord,
            edge_order=edge_order,
            datetime_unit=datetime_unit,
            keep_attrs=keep_attrs,
            nan_policy=nan_policy,
            boundary=boundary,
            period=period,
            geographic=geographic,
            radius=radius,
        )

    def gradient(
        self,
        dims: Hashable | Iterable[Hashable] | None = None,
        *,
        edge_order: EdgeOrder = 1,
        datetime_unit: Any = None,
        boundary: Boundary | Mapping[Any, Boundary] | None = None,
        period: float | Mapping[Any, float] | None = None,
        geographic: bool = False,
        radius: float = _geo.EARTH_RADIUS,
        keep_attrs: bool | None = None,
        nan_policy: NanPolicy = "propagate",
    ) -> xr.Dataset:
        """Partial derivatives along several coordinates, as a Dataset.

        One variable ``d{var}_d{dim}`` per (data variable, coordinate); an unnamed
        DataArray counts as ``var``. All partials of one variable come from a
        single call of :func:`daskgrad.gradient` (one pass, one halo exchange on
        Dask). Each partial equals ``differentiate`` along that coordinate.

        Parameters
        ----------
        dims : hashable or sequence, optional
            Coordinates or dimensions to differentiate along. Data variables that
            lack one of them are left out. None: every dimension of each variable,
            or on a geographic grid the latitude and longitude.
        edge_order, datetime_unit, period, geographic, radius, keep_attrs, nan_policy
            As in :meth:`differentiate`; ``period`` may be a mapping by name.
        boundary : {None, "none", "periodic"} or mapping
            One value for all, or ``{name: value}``; None as in :meth:`differentiate`.

        Returns
        -------
        xarray.Dataset
            The partials, with the object's coordinates (and a Dataset's attrs).
            Output attrs: ``units`` (e.g. ``K m-1``) and ``long_name``, see
            ``keep_attrs``.

        Examples
        --------
        >>> import daskgrad
        >>> from daskgrad.datasets import climate
        >>> ds = climate(ntime=1, nlat=19, nlon=36)
        >>> g = ds[["t2m"]].grad.gradient(["latitude", "longitude"], geographic=True)
        >>> list(g.data_vars), g.dt2m_dlongitude.attrs["units"]
        (['dt2m_dlatitude', 'dt2m_dlongitude'], 'K m-1')
        """
        return _gradient(
            self._obj,
            dims,
            edge_order=edge_order,
            datetime_unit=datetime_unit,
            keep_attrs=keep_attrs,
            geographic=geographic,
            radius=radius,
            nan_policy=nan_policy,
            boundary=boundary,
            period=period,
        )


@xr.register_dataarray_accessor("grad")
class GradDataArrayAccessor(_GradAccessor[xr.DataArray]):
    """``DataArray.grad``: :meth:`differentiate` and :meth:`gradient` (see the base)."""

    __slots__ = ()


@xr.register_dataset_accessor("grad")
class GradDatasetAccessor(_GradAccessor[xr.Dataset]):
    """``Dataset.grad``: :meth:`differentiate` and :meth:`gradient` (see the base)."""

    __slots__ = ()
