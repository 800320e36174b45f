"""The ``daskgrad`` command's OUTPUT: a Zarr store (format 2 or 3, sharded or not) at a
local path or an fsspec URL, created, listed and resumed through public APIs only.

Here: where OUTPUT is (``file://`` is its local path), its layout (``--zarr-format``,
``--shards``), the encodings it is written with (built from scratch, never inherited
from INPUT's storage), creating it and recording the run's arguments, which storage
objects ("units": a chunk, or a shard) are present (listed with fsspec, keys computed
from the array's metadata as the Zarr specs define them), and removing it.
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass, field
from typing import Any, Literal, cast

import numpy as np
import xarray as xr

from ._usage import UsageError

__all__ = [
    "ARGS_ATTR",
    "Layout",
    "check_layout",
    "check_removable",
    "discard_output",
    "chunk_key",
    "has_data",
    "init_output",
    "make_layout",
    "open_output_array",
    "output_attrs",
    "output_exists",
    "prepare_result",
    "present_keys",
    "read_arguments",
    "read_attr",
    "remove_output",
    "remove_partial_files",
    "update_attrs",
    "zarr_chunks",
]


ARGS_ATTR = "daskgrad_arguments"
# The encoding keys of a datetime/timedelta coordinate that say how its values decode
# (CF units and calendar, the stored integer type and its fill value). Everything else
# in an input's encoding describes INPUT's storage and is never carried to OUTPUT.
_TIME_KEYS = ("units", "calendar", "dtype", "_FillValue")
_CONSOLIDATED_V3 = ".*Consolidated metadata is currently not part.*"
_Chunks = tuple[tuple[int, ...], ...]  # a Dask-backed variable's .chunks (xarray: "| None")


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


def _is_url(path: str) -> bool:
    return "://" in path


def _fs(path: str, options: dict[str, Any] | None) -> tuple[Any, str]:
    import fsspec

    fs, root = fsspec.core.url_to_fs(path, **(options or {}) if _is_url(path) else {})
    fs.invalidate_cache()  # listings must see what the workers wrote since
    return fs, root.rstrip("/")


def _zarr_store(path: str, options: dict[str, Any] | None, read_only: bool) -> Any:
    import zarr.storage

    if _is_url(path):
        return zarr.storage.FsspecStore.from_url(
            path, storage_options=options or {}, read_only=read_only
        )
    return zarr.storage.LocalStore(path, read_only=read_only)


def _group(path: str, options: dict[str, Any] | None = None, mode: Literal["r", "r+"] = "r") -> Any:
    import zarr

    return zarr.open_group(_zarr_store(path, options, read_only=mode == "r"), mode=mode)


@dataclass(frozen=True)
class Layout:
    """How OUTPUT is stored: the Zarr format and the shard length of each sharded dim."""

    zarr_format: Literal[2, 3] = 3
    shards: dict[str, int] = field(default_factory=dict)

    def arguments(self) -> dict[str, Any]:
        """The layout as recorded in the run's arguments (``--resume`` compares them)."""
        return {"zarr_format": self.zarr_format, "shards": dict(self.shards)}

    def chunks(self, var: xr.DataArray) -> tuple[int, ...]:
        """The Zarr chunk shape of ``var``: its (regular) dask chunks."""
        return tuple(zarr_chunks(c) for c in cast(_Chunks, var.chunks))  # Dask-backed

    def shard_shape(self, var: xr.DataArray) -> tuple[int, ...] | None:
        """SIZE along each sharded dim and one chunk along the others (None: unsharded)."""
        if not self.shards:
            return None
        chunks = self.chunks(var)
        return tuple(self.shards.get(str(d), c) for d, c in zip(var.dims, chunks, strict=True))

    def unit_blocks(self, var: xr.DataArray) -> tuple[int, ...]:
        """Dask blocks per storage unit (chunk or shard) along each axis."""
        shape = self.shard_shape(var)
        if shape is None:
            return (1,) * var.ndim
        return tuple(s // c for s, c in zip(shape, self.chunks(var), strict=True))


def make_layout(result: xr.Dataset, zarr_format: int, shards: dict[str, int]) -> Layout:
    """Check ``--zarr-format``/``--shards`` against the computation's chunks.

    Raises
    ------
    UsageError
        Shards with format 2, an unknown dim, or a shard length that is not a multiple
        of the chunk length along its dim.
    """
    from ._inputs import resolve_dim

    if shards and zarr_format == 2:
        raise UsageError("--shards needs --zarr-format 3 (Zarr format 2 has no shards)")
    resolved = {resolve_dim(result, d): size for d, size in shards.items()}
    for name, var in result.data_vars.items():
        for dim, chunks in zip(var.dims, cast(_Chunks, var.chunks), strict=True):
            size, chunk = resolved.get(str(dim)), zarr_chunks(chunks)
            if size is not None and size % chunk:
                raise UsageError(
                    f"--shards {dim}={size}: not a multiple of the chunk length {chunk} of "
                    f"{name} along {dim} (shards hold whole chunks; see --chunks)"
                )
    return Layout(zarr_format=3 if zarr_format == 3 else 2, shards=resolved)


def _coord_encoding(var: xr.Variable) -> dict[str, Any]:
    if var.dtype.kind not in "mM":
        return {}
    return {k: var.encoding[k] for k in _TIME_KEYS if k in var.encoding}


def prepare_result(result: xr.Dataset, attrs: dict[str, Any], layout: Layout) -> xr.Dataset:
    """Make the accessor's lazy result writable as OUTPUT, unit for unit.

    Every encoding is built from scratch: data variables get their Zarr chunks (the
    dask chunks, regularised when open_mfdataset gave irregular ones) and shards;
    coordinates keep only what decodes a time axis (``units``, ``calendar``, ``dtype``,
    ``_FillValue``). Nothing of INPUT's storage (format-3 codecs, NetCDF packing and
    compression, xarray#5286's stale chunks) reaches OUTPUT. Dask coordinates are loaded.
    """
    out = result.copy()
    for name, var in out.data_vars.items():
        chunks = cast(_Chunks, var.chunks)
        regular = {d: zarr_chunks(c) for d, c in zip(var.dims, chunks, strict=True)}
        out[name] = var.chunk(regular)  # a no-op unless the chunks were irregular
        encoding: dict[str, Any] = {"chunks": tuple(regular.values())}
        shards = layout.shard_shape(out[name])
        if shards is not None:
            encoding["shards"] = shards
        out[name].encoding = encoding
    out = out.assign_coords({k: v.compute() for k, v in out.coords.items() if v.chunks})
    for name in out.coords:
        out[name].encoding = _coord_encoding(out[name].variable)
    out.attrs = attrs
    return out


def read_attr(path: str, name: str, options: dict[str, Any] | None = None) -> Any:
    """A global attribute of the Zarr store ``path`` (None when absent)."""
    return _group(path, options).attrs.get(name)


def read_arguments(path: str, options: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """The arguments recorded in an OUTPUT store by ``daskgrad`` (None if absent)."""
    try:
        text = read_attr(path, ARGS_ATTR, options)
    except Exception:  # not a Zarr group, or unreadable: not ours
        return None
    return json.loads(text) if isinstance(text, str) else None


def output_exists(path: str, options: dict[str, Any] | None = None) -> bool:
    """Whether anything is at OUTPUT (a local path, or objects under a URL's prefix)."""
    if not _is_url(path):
        return os.path.lexists(path)
    fs, root = _fs(path, options)
    return bool(fs.exists(root))


def _is_zarr_store(fs: Any, root: str) -> bool:
    return any(fs.exists(f"{root}/{m}") for m in (".zgroup", "zarr.json", ".zarray"))


def check_removable(path: str, options: dict[str, Any] | None = None) -> None:
    """Refuse ``--overwrite`` of an OUTPUT that exists and is not a Zarr store."""
    if not output_exists(path, options):
        return
    if not _is_url(path) and (os.path.islink(path) or not os.path.isdir(path)):
        raise UsageError(f"{path} exists and is not a Zarr store; refusing to delete it")
    fs, root = _fs(path, options)
    if not _is_zarr_store(fs, root):
        raise UsageError(f"{path} exists and is not a Zarr store; refusing to delete it")


def remove_output(path: str, options: dict[str, Any] | None = None) -> None:
    """Delete OUTPUT (directory or object prefix), only if it is a Zarr store."""
    check_removable(path, options)
    if output_exists(path, options):
        fs, root = _fs(path, options)
        fs.rm(root, recursive=True)


def discard_output(path: str, options: dict[str, Any] | None = None) -> None:
    """Delete an OUTPUT this run created (a failed run before any data was written)."""
    if output_exists(path, options):
        fs, root = _fs(path, options)
        fs.rm(root, recursive=True)


def remove_partial_files(path: str) -> None:
    """Delete the temporary files of chunk writes cut short (a killed run) in a local OUTPUT."""
    if _is_url(path):
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


def check_layout(
    result: xr.Dataset, path: str, layout: Layout, options: dict[str, Any] | None = None
) -> None:
    """Refuse to resume into OUTPUT whose arrays differ from what this run writes."""
    group = _group(path, options)
    for name, var in result.data_vars.items():
        want = (
            var.shape,
            layout.chunks(var),
            layout.shard_shape(var),
            np.dtype(var.dtype),
            layout.zarr_format,
        )
        try:
            arr = group[str(name)]
            have = (
                tuple(arr.shape),
                tuple(arr.chunks),
                None if arr.shards is None else tuple(arr.shards),
                np.dtype(arr.dtype),
                arr.metadata.zarr_format,
            )
        except KeyError:
            have = None
        if have != want:
            raise UsageError(
                f"cannot resume {path}: its variable {name!r} does not match this run "
                "(shape, chunks, shards, dtype or Zarr format); use --overwrite to start again"
            )


def _consolidate(store: Any) -> None:
    import zarr

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_CONSOLIDATED_V3)
        zarr.consolidate_metadata(store)


def init_output(
    result: xr.Dataset,
    path: str,
    arguments: dict[str, Any],
    layout: Layout,
    options: dict[str, Any] | None = None,
) -> None:
    """Create OUTPUT's arrays, coordinates and attrs; no data chunk is written.

    The metadata is consolidated in both formats, so that ``xr.open_zarr(OUTPUT)``
    opens it quickly and without a warning. ``arguments`` is recorded last, so a
    store without it was never started.
    """
    from ._compat import dask_array_expr_enabled

    store = _zarr_store(path, options, read_only=False)
    expr = dask_array_expr_enabled()  # there, dask.array.store (to_zarr's path) is missing
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_CONSOLIDATED_V3)
        (result.drop_vars(list(result.data_vars)) if expr else result).to_zarr(
            store,
            mode="w-",
            compute=False,
            zarr_format=layout.zarr_format,
            consolidated=True,
            safe_chunks=not layout.shards,  # each shard is written whole by one task
        )
    group = _group(path, options, mode="r+")
    if expr:
        for name, var in result.data_vars.items():
            _create_array(group, str(name), var, result, layout)
    group.attrs[ARGS_ATTR] = json.dumps(arguments, sort_keys=True)
    _consolidate(store)


def _create_array(group: Any, name: str, var: Any, ds: Any, layout: Layout) -> None:
    """Create data variable ``name`` as xarray would, without dask (array-expr mode)."""
    attrs = dict(var.attrs)
    others = [str(c) for c in ds.coords if c not in ds.dims and set(ds[c].dims) <= set(var.dims)]
    if others:
        attrs["coordinates"] = " ".join(others)
    dims = [str(d) for d in var.dims]
    kwargs: dict[str, Any] = {"dimension_names": dims} if layout.zarr_format == 3 else {}
    if layout.zarr_format == 2:
        attrs["_ARRAY_DIMENSIONS"] = dims
    fill = np.nan if np.dtype(var.dtype).kind in "fc" else None
    group.create_array(
        name,
        shape=var.shape,
        chunks=layout.chunks(var),
        shards=layout.shard_shape(var),
        dtype=var.dtype,
        fill_value=fill,
        attributes=attrs,
        **kwargs,
    )


def update_attrs(path: str, options: dict[str, Any] | None = None, **attrs: Any) -> None:
    """Set global attrs of OUTPUT and refresh its consolidated metadata."""
    group = _group(path, options, mode="r+")
    group.attrs.update(attrs)
    _consolidate(_zarr_store(path, options, read_only=False))


def open_output_array(path: str, name: str, options: dict[str, Any] | None = None) -> Any:
    """OUTPUT's array ``name`` for writing, every chunk stored even when all fill value."""
    import zarr

    return zarr.open_array(
        _zarr_store(path, options, read_only=False),
        path=name,
        mode="r+",
        config={"write_empty_chunks": True},
    )


def _array_metadata(fs: Any, root: str, name: str) -> dict[str, Any]:
    for doc in ("zarr.json", ".zarray"):
        key = f"{root}/{name}/{doc}"
        if fs.exists(key):
            return json.loads(fs.cat_file(key))
    raise UsageError(f"OUTPUT has no array {name!r}; use --overwrite to start again")


def chunk_key(metadata: dict[str, Any], index: tuple[int, ...]) -> str:
    """The storage key of chunk (or shard) ``index`` relative to its array, per the specs.

    Format 2: the indices joined by ``dimension_separator`` (``.`` by default; ``0``
    for a 0-d array). Format 3: ``chunk_key_encoding`` ``default`` prefixes ``c`` (and
    separates with ``/`` by default); ``v2`` is format 2's rule (``.`` by default).

    Examples
    --------
    >>> chunk_key({"zarr_format": 2}, (1, 0))
    '1.0'
    >>> chunk_key({"zarr_format": 3, "chunk_key_encoding": {"name": "default"}}, (1, 0))
    'c/1/0'
    >>> v2 = {"name": "v2", "configuration": {"separator": "/"}}
    >>> chunk_key({"zarr_format": 3, "chunk_key_encoding": v2}, (1, 0))
    '1/0'
    """
    parts = [str(int(i)) for i in index]
    if metadata.get("zarr_format") == 2:
        sep = metadata.get("dimension_separator") or "."
        return sep.join(parts) or "0"
    encoding = metadata.get("chunk_key_encoding") or {"name": "default"}
    config = encoding.get("configuration") or {}
    if encoding.get("name") == "v2":
        return (config.get("separator") or ".").join(parts) or "0"
    sep = config.get("separator") or "/"
    return sep.join(["c", *parts])


def present_keys(
    path: str, name: str, options: dict[str, Any] | None = None
) -> tuple[dict[str, int], dict[str, Any]]:
    """The stored objects of OUTPUT's array ``name`` (key → size) and its metadata.

    Keys are relative to the array, as :func:`chunk_key` makes them; an interrupted
    write's ``.partial`` file never matches one.
    """
    fs, root = _fs(path, options)
    metadata = _array_metadata(fs, root, name)
    prefix = f"{root}/{name}/"
    found = fs.find(prefix.rstrip("/"), detail=True)
    return {k[len(prefix) :]: int(v.get("size") or 0) for k, v in found.items()}, metadata


def has_data(result: xr.Dataset, path: str, options: dict[str, Any] | None = None) -> bool:
    """Whether any data chunk or shard of a ``d{var}_d{dim}`` array is in OUTPUT."""
    if not output_exists(path, options):
        return False
    for name, var in result.data_vars.items():
        try:
            keys, metadata = present_keys(path, str(name), options)
        except UsageError:  # the array's metadata was never written
            continue
        grid = metadata.get("chunks") or metadata["chunk_grid"]["configuration"]["chunk_shape"]
        counts = [-(-n // c) for n, c in zip(var.shape, grid, strict=True)]
        if any(chunk_key(metadata, idx) in keys for idx in np.ndindex(*counts)):
            return True
    return False
