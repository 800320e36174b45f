"""Input and output of the ``daskgrad`` command: Zarr/NetCDF in, Zarr out.

Reading never writes: Zarr stores are opened read-only and NetCDF files through
netCDF4 in read mode. The output is a Zarr (format 2, consolidated metadata)
store whose chunks are exactly the blocks of the computation, so every block is
written by one task into one Zarr chunk (no locks, no partial chunks), and a
chunk is there whole or not at all (Zarr writes a chunk to a temporary file and
renames it). The streaming itself is :func:`daskgrad._cluster.stream_to_zarr`.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import warnings
from typing import Any

import numpy as np
import xarray as xr

from ._cluster import UsageError

__all__ = [
    "ARGS_ATTR",
    "chunk_plan",
    "split_stored_chunks",
    "init_output",
    "open_input",
    "prepare_result",
    "read_arguments",
    "remove_output",
    "check_removable",
    "remove_partial_files",
    "output_exists",
    "output_attrs",
    "check_layout",
    "read_attr",
    "resolve_dim",
    "select_variables",
    "write_magnitude_png",
    "zarr_chunks",
]

ARGS_ATTR = "daskgrad_arguments"
_GLOB_CHARS = set("*?[")
_ALIASES = {
    "lat": ("latitude", "degrees_north", "Y"),
    "latitude": ("latitude", "degrees_north", "Y"),
    "lon": ("longitude", "degrees_east", "X"),
    "longitude": ("longitude", "degrees_east", "X"),
    "time": ("time", None, "T"),
}
# Encoding keys that describe how the *input* was stored; carrying them over to the
# output breaks or misleads to_zarr (stale chunks: xarray#5286, NetCDF compression).
_STORAGE_KEYS = {
    "chunks",
    "preferred_chunks",
    "shards",
    "compressor",
    "compressors",
    "filters",
    "zlib",
    "szip",
    "zstd",
    "bzip2",
    "blosc",
    "shuffle",
    "complevel",
    "fletcher32",
    "contiguous",
    "chunksizes",
    "source",
    "original_shape",
    "endian",
    "coordinates",
}


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
        raise UsageError(f"cannot read {spec} as Zarr or NetCDF: {_one_line(exc)}") from None


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def resolve_dim(ds: xr.Dataset, name: str) -> str:
    """The dataset's dim for ``name``: itself, or ``lat``/``lon``/``time`` found by CF metadata.

    Examples
    --------
    >>> ds = xr.Dataset(coords={"latitude": ("latitude", [0.0, 1.0],
    ...                         {"units": "degrees_north"})})
    >>> resolve_dim(ds, "lat"), resolve_dim(ds, "latitude")
    ('latitude', 'latitude')
    """
    if name in ds.dims:
        return name
    standard, units, axis = _ALIASES.get(name.lower(), (None, None, None))
    if standard is not None:
        for dim in ds.dims:
            attrs = ds[dim].attrs if dim in ds.variables else {}
            if (
                attrs.get("standard_name") == standard
                or attrs.get("axis") == axis
                or (units and attrs.get("units") == units)
            ):
                return str(dim)
    raise UsageError(f"unknown dim {name!r}: the input's dims are {', '.join(map(str, ds.dims))}")


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


def zarr_chunks(chunks: tuple[int, ...]) -> int:
    """One Zarr chunk length for a dask chunking (regular except a shorter last chunk).

    Examples
    --------
    >>> zarr_chunks((4, 4, 2)), zarr_chunks((31, 28, 31))
    (4, 31)
    """
    first = chunks[0]
    if all(c == first for c in chunks[:-1]) and chunks[-1] <= first:
        return first
    return max(chunks)


def prepare_result(result: xr.Dataset, attrs: dict[str, Any]) -> xr.Dataset:
    """Make the accessor's lazy result writable as Zarr chunk for chunk.

    Data variables are rechunked to a regular grid when needed (open_mfdataset over
    files of different lengths), their stale storage encoding is dropped (xarray#5286)
    and their Zarr chunks are the dask chunks; coordinates are loaded.
    """
    out = result.copy()
    for name, var in out.data_vars.items():
        regular = {d: zarr_chunks(c) for d, c in zip(var.dims, var.chunks, strict=True)}
        out[name] = var.chunk(regular)  # a no-op unless the chunks were irregular
        out[name].encoding = {"chunks": tuple(regular.values())}
    for name in out.coords:
        out[name].encoding = {k: v for k, v in out[name].encoding.items() if k not in _STORAGE_KEYS}
    out = out.assign_coords({k: v.compute() for k, v in out.coords.items() if v.chunks})
    out.attrs = attrs
    return out


def _group(path: str, mode: str = "r") -> Any:
    import zarr

    return zarr.open_group(path, mode=mode)


def read_arguments(path: str) -> dict[str, Any] | None:
    """The arguments recorded in an OUTPUT store by ``daskgrad`` (None if absent)."""
    try:
        text = read_attr(path, ARGS_ATTR)
    except Exception:  # not a Zarr group, or unreadable: not ours
        return None
    return json.loads(text) if isinstance(text, str) else None


def output_exists(path: str) -> bool:
    """Whether OUTPUT exists (a local path, or a Zarr group at a URL)."""
    if "://" not in path:
        return os.path.exists(path)
    try:
        _group(path)
    except Exception:  # nothing readable there
        return False
    return True


def check_removable(path: str) -> None:
    """Refuse ``--overwrite`` of a local path that exists and is not a Zarr store."""
    if "://" in path or not os.path.exists(path):
        return
    markers = (".zgroup", "zarr.json", ".zarray")
    if not (os.path.isdir(path) and any(os.path.exists(os.path.join(path, m)) for m in markers)):
        raise UsageError(f"{path} exists and is not a Zarr store; refusing to delete it")


def remove_output(path: str) -> None:
    """Delete a local OUTPUT for ``--overwrite`` (only if it is a Zarr store)."""
    check_removable(path)
    if "://" not in path and os.path.exists(path):
        shutil.rmtree(path)


def remove_partial_files(path: str) -> None:
    """Delete the temporary files of chunk writes cut short (a killed run) in a local OUTPUT."""
    if "://" in path:
        return
    for root, _, files in os.walk(path):
        for name in files:
            if name.endswith(".partial"):
                os.remove(os.path.join(root, name))


def output_attrs(result: xr.Dataset, history: str) -> dict[str, Any]:
    """Global attrs of OUTPUT: the accessor's, CF ``Conventions`` and ``history``."""
    attrs = {k: v for k, v in result.attrs.items() if k not in (ARGS_ATTR, "history")}
    attrs.setdefault("Conventions", "CF-1.8")
    attrs["history"] = history
    from . import __version__

    attrs["daskgrad_version"] = __version__
    return attrs


def check_layout(result: xr.Dataset, path: str) -> None:
    """Refuse to resume into OUTPUT whose arrays differ from what this run writes."""
    group = _group(path)
    for name, var in result.data_vars.items():
        want = (var.shape, tuple(zarr_chunks(c) for c in var.chunks), np.dtype(var.dtype))
        try:
            arr = group[str(name)]
            have = (tuple(arr.shape), tuple(arr.chunks), np.dtype(arr.dtype))
        except KeyError:
            have = None
        if have != want:
            raise UsageError(
                f"cannot resume {path}: its variable {name!r} does not match this "
                "run (shape, chunks or dtype); use --overwrite to start again"
            )


def read_attr(path: str, name: str) -> Any:
    """A global attribute of the Zarr store ``path`` (None when absent)."""
    return _group(path).attrs.get(name)


def init_output(
    result: xr.Dataset, path: str, arguments: dict[str, Any], overwrite: bool = False
) -> None:
    """Create OUTPUT's arrays, coordinates and attrs; no data chunk is written.

    ``arguments`` is recorded last, so a store without it was never started.
    """
    import zarr

    result.to_zarr(
        path, mode="w" if overwrite else "w-", compute=False, zarr_format=2, consolidated=True
    )
    group = _group(path, mode="r+")
    group.attrs[ARGS_ATTR] = json.dumps(arguments, sort_keys=True)
    zarr.consolidate_metadata(path)


def update_attrs(path: str, **attrs: Any) -> None:
    """Set global attrs of OUTPUT and refresh its consolidated metadata."""
    import zarr

    group = _group(path, mode="r+")
    group.attrs.update(attrs)
    zarr.consolidate_metadata(path)


def write_magnitude_png(path: str, png: str) -> None:
    """Map of the magnitude of the demo's t2m gradient at the first time (matplotlib Agg)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    import xarray as xr

    with xr.open_zarr(path) as ds:
        dy = ds["dt2m_dlatitude"].isel(time=0).load()
        dx = ds["dt2m_dlongitude"].isel(time=0).load()
    magnitude = np.hypot(dx, dy) * 1e5  # K m-1 -> K per 100 km
    fig, ax = plt.subplots(figsize=(9, 4.5), layout="constrained")
    mesh = ax.pcolormesh(
        magnitude["longitude"], magnitude["latitude"], magnitude, shading="nearest", cmap="magma"
    )
    fig.colorbar(mesh, ax=ax, label="|grad t2m| (K per 100 km)")
    ax.set(
        xlabel="longitude (degrees east)",
        ylabel="latitude (degrees north)",
        title=f"2 m temperature gradient magnitude, {str(dy['time'].values)[:16]}",
    )
    fig.savefig(png, dpi=100)
    plt.close(fig)
