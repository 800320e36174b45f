"""Opening the ``daskgrad`` command's INPUT, read-only: Zarr stores, NetCDF files and globs.

Reading never writes: Zarr stores are opened read-only and NetCDF files through
netCDF4 in read mode. Also here: which variables to differentiate and the chunks
to open them with.
"""

from __future__ import annotations

import glob
import os
import warnings
from typing import Any

import xarray as xr

from ._cf import kind_of, score
from ._usage import UsageError, one_line

__all__ = [
    "chunk_plan",
    "open_input",
    "resolve_dim",
    "select_variables",
    "split_stored_chunks",
]


_GLOB_CHARS = set("*?[")


def _input_paths(spec: str) -> list[str]:
    if "://" in spec:
        return [spec]
    paths = sorted(glob.glob(spec)) if _GLOB_CHARS & set(spec) else [spec]
    if not paths or not os.path.exists(paths[0]):
        raise UsageError(f"input not found: {spec}")
    return [os.path.abspath(p) for p in paths]


def _is_zarr(path: str) -> bool:
    markers = (".zgroup", ".zarray", "zarr.json", ".zmetadata")
    return path.rstrip("/").endswith(".zarr") or (
        os.path.isdir(path) and any(os.path.exists(os.path.join(path, m)) for m in markers)
    )


def open_input(spec: str, chunks: dict[str, Any] | None = None) -> xr.Dataset:
    """Open INPUT read-only: a Zarr store, one NetCDF file, or a glob of several.

    Parameters
    ----------
    spec : str
        Path (or URL) of a Zarr store or NetCDF file, or a glob pattern such as
        ``"era5_*.nc"`` whose files are combined by coordinates
        (:func:`xarray.open_mfdataset`).
    chunks : dict, optional
        Dask chunks per dim. ``None`` opens lazily without Dask (to inspect
        names); dims left out keep the stored chunks.

    Raises
    ------
    UsageError
        When the input is missing or cannot be read as Zarr or NetCDF.

    Examples
    --------
    >>> import tempfile, os, xarray as xr
    >>> path = os.path.join(tempfile.mkdtemp(), "x.nc")
    >>> xr.Dataset({"a": ("x", [1.0, 2.0])}).to_netcdf(path)
    >>> open_input(path, chunks={})["a"].chunks
    ((2,),)
    """
    paths = _input_paths(spec)
    engine = "zarr" if _is_zarr(paths[0]) else "netcdf4"
    kwargs: dict[str, Any] = {"engine": engine}
    if engine == "zarr":
        kwargs["consolidated"] = None
    try:
        with warnings.catch_warnings():
            # Missing consolidated metadata only slows opening; chunk splits are reported
            # by the command itself.
            warnings.simplefilter("ignore", RuntimeWarning)
            warnings.filterwarnings("ignore", message=".*separate the stored chunks.*")
            if len(paths) > 1:
                return xr.open_mfdataset(
                    paths,
                    chunks=chunks if chunks is not None else {},
                    combine="by_coords",
                    **kwargs,
                )
            return xr.open_dataset(paths[0], chunks=chunks, cache=chunks is not None, **kwargs)
    except Exception as exc:  # OSError, ValueError, and zarr's and netCDF4's own errors
        raise UsageError(f"cannot read {spec} as Zarr or NetCDF: {one_line(exc)}") from None


def select_variables(ds: xr.Dataset, names: list[str] | None, dims: list[str]) -> list[str]:
    """Variables to differentiate: ``names``, or every data variable that has all ``dims``.

    Examples
    --------
    >>> ds = xr.Dataset({"a": (("y", "x"), [[1.0]]), "b": ("x", [1.0])})
    >>> select_variables(ds, None, ["y", "x"])
    ['a']
    """
    if names:
        for name in names:
            if name not in ds.data_vars:
                raise UsageError(
                    f"unknown variable {name!r}: the input's data variables are "
                    + ", ".join(map(str, ds.data_vars))
                )
            missing = [d for d in dims if d not in ds[name].dims]
            if missing:
                raise UsageError(
                    f"variable {name!r} has no dim {missing[0]!r} "
                    f"(its dims are {', '.join(map(str, ds[name].dims))})"
                )
        return list(dict.fromkeys(names))
    found = [
        str(v)
        for v, da in ds.data_vars.items()
        if all(d in da.dims for d in dims) and da.dtype.kind in "biufc"
    ]
    if not found:
        raise UsageError(f"no numeric data variable has all of the dims {', '.join(dims)}")
    return found


def chunk_plan(ds: xr.Dataset, names: list[str], user: dict[str, int]) -> dict[str, Any]:
    """Chunks to open with: the user's, else the stored ones, else dask's ``"auto"``.

    Examples
    --------
    >>> ds = xr.Dataset({"a": (("y", "x"), [[1.0]])})
    >>> chunk_plan(ds, ["a"], {"y": 1})
    {'y': 1, 'x': 'auto'}
    """
    plan: dict[str, Any] = {}
    for name in names:
        stored = ds[name].encoding.get("preferred_chunks") or {}
        for dim in ds[name].dims:
            plan.setdefault(str(dim), user.get(str(dim), stored.get(dim, "auto")))
    return plan


def split_stored_chunks(ds: xr.Dataset, names: list[str], user: dict[str, int]) -> list[str]:
    """``dim=size`` of the stored chunks that the user's chunks split (read more than once).

    Examples
    --------
    >>> ds = xr.Dataset({"a": (("y", "x"), [[1.0] * 8] * 8)})
    >>> ds["a"].encoding["preferred_chunks"] = {"y": 4, "x": 4}
    >>> split_stored_chunks(ds, ["a"], {"y": 8, "x": 6})
    ['x=4']
    """
    out: list[str] = []
    for name in names:
        stored = ds[name].encoding.get("preferred_chunks") or {}
        for dim, size in stored.items():
            want = user.get(str(dim))
            if want and want != -1 and want % size and f"{dim}={size}" not in out:
                out.append(f"{dim}={size}")
    return out



def resolve_dim(ds: xr.Dataset, name: str) -> str:
    """The dataset's dim for ``name``: itself, or the lat/lon/time dim that the one
    recognition table (:mod:`daskgrad._cf`, shared with ``geographic=True``) finds.

    Examples
    --------
    >>> ds = xr.Dataset(coords={"latitude": ("latitude", [0.0, 1.0],
    ...                         {"units": "degrees_north"})})
    >>> resolve_dim(ds, "lat"), resolve_dim(ds, "latitude")
    ('latitude', 'latitude')
    """
    if name in ds.dims:
        return name
    kind = kind_of(name)
    if kind is not None:
        scored = [
            (score(dim, ds[dim].attrs if dim in ds.variables else {}, kind), str(dim))
            for dim in ds.dims
        ]
        best = max((s for s, _ in scored), default=0)
        found = [d for s, d in scored if s == best and s > 0]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise UsageError(
                f"--dim {name}: several dims look like it ({', '.join(found)}); name one"
            )
    raise UsageError(f"unknown dim {name!r}: the input's dims are {', '.join(map(str, ds.dims))}")
