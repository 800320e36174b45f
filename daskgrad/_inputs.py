"""Opening the ``daskgrad`` command's INPUT, read-only: Zarr stores, NetCDF files and globs.

Reading never writes: Zarr stores are opened read-only and NetCDF files through
netCDF4 in read mode. Also here: which variables to differentiate and the chunks
to open them with.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from typing import Any

import xarray as xr

from ._cf import kind_of, score
from ._compat import dask_array_expr_enabled
from ._paths import input_files
from ._usage import UsageError, one_line

__all__ = [
    "chunk_plan",
    "fingerprint",
    "open_input",
    "resolve_dim",
    "select_variables",
    "split_stored_chunks",
]


def _is_zarr(path: str) -> bool:
    if "://" in path:
        return True  # URLs are Zarr stores (fsspec)
    markers = (".zgroup", ".zarray", "zarr.json", ".zmetadata")
    return path.rstrip("/").endswith(".zarr") or (
        os.path.isdir(path) and any(os.path.exists(os.path.join(path, m)) for m in markers)
    )


def open_input(
    spec: str,
    chunks: dict[str, Any] | None = None,
    storage_options: dict[str, Any] | None = None,
) -> xr.Dataset:
    """Open INPUT read-only: a Zarr store (format 2 or 3, sharded or not, local or at an
    fsspec URL), one NetCDF file (NetCDF3 or NetCDF4), or a glob of several.

    Packed variables (``scale_factor``/``add_offset``/``_FillValue``) are decoded as
    :func:`xarray.open_dataset` decodes them by default.

    Parameters
    ----------
    spec : str
        Path of a Zarr store or NetCDF file, a glob pattern such as ``"era5_*.nc"``
        whose files are combined by coordinates (:func:`xarray.open_mfdataset`), or the
        URL of a Zarr store (``s3://``, ``gs://``; ``file://`` is its local path).
    chunks : dict, optional
        Dask chunks per dim. ``None`` opens lazily without Dask (to inspect
        names); dims left out keep the stored chunks.
    storage_options : dict, optional
        fsspec options for a URL (``--storage-options``).

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
    paths = input_files(spec)
    engine = "zarr" if _is_zarr(paths[0]) else "netcdf4"
    kwargs: dict[str, Any] = {"engine": engine}
    if engine == "zarr":
        kwargs["consolidated"] = None
        if "://" in paths[0] and storage_options:
            kwargs["storage_options"] = storage_options
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
    except NotImplementedError as exc:
        if len(paths) > 1 and dask_array_expr_enabled():
            raise UsageError(_MFDATASET_EXPR.format(spec=spec, n=len(paths))) from None
        raise UsageError(f"cannot read {spec} as Zarr or NetCDF: {one_line(exc)}") from None
    except Exception as exc:  # OSError, ValueError, and zarr's and netCDF4's own errors
        raise UsageError(f"cannot read {spec} as Zarr or NetCDF: {one_line(exc)}") from None


# xarray.open_mfdataset concatenates the files' Dask arrays; in dask's array-expression
# mode (dask 2026.8) that calls numpy.result_type on them, which raises
# NotImplementedError. One file or store is read fine in that mode.
_MFDATASET_EXPR = (
    "cannot combine the {n} files of {spec}: xarray.open_mfdataset does not work in dask's "
    "array-expression mode (DASK_ARRAY__QUERY_PLANNING=True); unset it, or pass one "
    "Zarr store or NetCDF file"
)


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


_HEADER_BYTES = 1 << 16


def _stored_chunks(var: xr.DataArray) -> list[int]:
    chunks = var.encoding.get("preferred_chunks") or {}
    return [int(chunks.get(d, n)) for d, n in zip(var.dims, var.shape, strict=True)]


def _local_listing(root: str) -> list[str]:
    out = []
    for base, _, files in os.walk(root):
        for name in files:
            st = os.stat(os.path.join(base, name))
            out.append(
                f"{os.path.relpath(os.path.join(base, name), root)} {st.st_size} {st.st_mtime_ns}"
            )
    return sorted(out)


def _url_listing(url: str, storage_options: dict[str, Any]) -> list[str]:
    import fsspec

    fs, root = fsspec.core.url_to_fs(url, **storage_options)
    keys = ("ETag", "etag", "md5Hash", "crc32c", "generation", "LastModified", "mtime")
    found = fs.find(root, detail=True)
    return sorted(
        f"{k[len(root) :]} {v.get('size')} " + " ".join(str(v[e]) for e in keys if e in v)
        for k, v in found.items()
    )


def _digest(lines: list[str]) -> str:
    return f"{len(lines)} files sha256:" + hashlib.sha256("\n".join(lines).encode()).hexdigest()


def _file_evidence(path: str) -> str:
    st = os.stat(path)
    with open(path, "rb") as f:
        head = hashlib.sha256(f.read(_HEADER_BYTES)).hexdigest()
    return f"{st.st_size} {st.st_mtime_ns} sha256:{head}"


def fingerprint(
    spec: str, ds: xr.Dataset, names: list[str], storage_options: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Cheap evidence of what INPUT holds, recorded by a run and compared by ``--resume``.

    Per variable (``names`` and their coordinates): shape, dtype and stored chunks; for a
    Zarr store, a digest of the listing of that variable's stored objects with their sizes
    and mtimes (local) or ETags/modification times (fsspec URLs); for NetCDF, each
    file's size, mtime and a hash of its first 64 KiB (the header).

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "x.nc")
    >>> xr.Dataset({"a": ("x", [1.0, 2.0])}).to_netcdf(path)
    >>> fp = fingerprint(path, open_input(path), ["a"])
    >>> fp["variables"]["a"]
    {'shape': [2], 'dtype': 'float64', 'chunks': [2]}
    >>> sorted(fp["content"]) == [path]
    True
    """
    variables: dict[str, Any] = {}
    for name in names:
        for key in [name, *map(str, ds[name].coords)]:
            var = ds[key]
            variables[key] = {
                "shape": list(var.shape),
                "dtype": str(var.dtype),
                "chunks": _stored_chunks(var),
            }
    paths = input_files(spec)
    content: dict[str, str] = {}
    if _is_zarr(paths[0]):
        root = paths[0].rstrip("/")
        for key in sorted(variables):
            where = f"{root}/{key}"
            if "://" in root:
                content[key] = _digest(_url_listing(where, storage_options or {}))
            else:
                content[key] = _digest(_local_listing(where) if os.path.isdir(where) else [])
    else:
        content = {path: _file_evidence(path) for path in paths}
    return {"variables": variables, "content": content}


def changed(recorded: dict[str, Any] | None, now: dict[str, Any]) -> str:
    """What differs between two :func:`fingerprint` results, in words (``""``: nothing).

    Examples
    --------
    >>> a = {"variables": {"t": {"shape": [2]}}, "content": {"t": "1 files sha256:0"}}
    >>> changed(a, a)
    ''
    >>> changed(a, {"variables": a["variables"], "content": {"t": "1 files sha256:1"}})
    'the stored data of t'
    """
    if not recorded:
        return "no fingerprint of INPUT was recorded"
    parts = []
    old_vars, new_vars = recorded.get("variables", {}), now.get("variables", {})
    shape = sorted(k for k in set(old_vars) | set(new_vars) if old_vars.get(k) != new_vars.get(k))
    if shape:
        parts.append("the shape, dtype or chunks of " + ", ".join(shape))
    old, new = recorded.get("content", {}), now.get("content", {})
    data = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k) and k not in shape)
    if data:
        parts.append("the stored data of " + ", ".join(os.path.basename(k) or k for k in data))
    return "; ".join(parts)
