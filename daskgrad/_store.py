"""The ``daskgrad`` command's OUTPUT: a Zarr store written chunk by chunk, and resumed.

The output's chunks are exactly the blocks of the computation, so every block is
written by one task into one Zarr chunk (no locks, no partial chunks), and a
chunk is there whole or not at all (Zarr writes a chunk to a temporary file and
renames it). Here: creating the store and recording the run's arguments, listing
the chunks already present, writing one block, and the checks of ``--resume``.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
from typing import Any

import numpy as np
import xarray as xr

from ._usage import UsageError

__all__ = [
    "ARGS_ATTR",
    "check_layout",
    "check_removable",
    "init_output",
    "output_attrs",
    "output_exists",
    "pending_blocks",
    "prepare_result",
    "read_arguments",
    "read_attr",
    "remove_output",
    "remove_partial_files",
    "update_attrs",
    "write_block",
    "zarr_chunks",
]


ARGS_ATTR = "daskgrad_arguments"


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


def existing_chunk_keys(path: str, name: str) -> tuple[set[str], Any]:
    """The chunk keys present in OUTPUT's array ``name``, and the array itself."""
    import zarr
    from zarr.core.sync import sync

    array = zarr.open_group(path, mode="r")[name]
    store = array.store_path.store
    prefix = array.store_path.path.rstrip("/") + "/"

    async def listing() -> list[str]:
        return [key async for key in store.list_prefix(prefix)]

    return {k[len(prefix) :] for k in sync(listing())}, array


@functools.lru_cache(maxsize=64)
def _output_array(path: str, name: str, run: str) -> Any:
    import zarr

    return zarr.open_array(path, path=name, mode="r+", config={"write_empty_chunks": True})


def write_block(
    block: np.ndarray, path: str, name: str, region: tuple[slice, ...], run: str = ""
) -> int:
    """Write one computed block into its Zarr chunk of OUTPUT (runs on a worker).

    ``run`` identifies the run, so a worker reopens the array for each new run.
    Returns the number of bytes written (uncompressed).
    """
    _output_array(path, name, run)[region] = block
    return int(block.nbytes)


def _blocks_of(name: str, data: Any, done: set[str], encode: Any) -> list[tuple]:
    starts = [np.concatenate([[0], np.cumsum(c)]) for c in data.chunks]
    out = []
    for idx in np.ndindex(*data.numblocks):
        if done and encode(idx) in done:
            continue
        region = tuple(slice(int(s[i]), int(s[i + 1])) for s, i in zip(starts, idx, strict=True))
        out.append((idx, name, (data.name, *idx), region))
    return out


def pending_blocks(result: Any, path: str, resume: bool) -> tuple[list[tuple], int]:
    """Blocks still to write (all, or with ``resume`` those whose chunk is missing).

    Returns ``(blocks, total)``: each block is ``(index, name, dask key, region)``,
    ordered by block index so that the variables of one block are computed together;
    ``total`` counts every chunk of the output.
    """
    blocks, total = [], 0
    for name, var in result.data_vars.items():
        done, array = existing_chunk_keys(path, str(name)) if resume else (set(), None)
        encode = array.metadata.encode_chunk_key if array is not None else None
        blocks += _blocks_of(str(name), var.data, done, encode)
        total += int(np.prod(var.data.numblocks))
    blocks.sort(key=lambda b: b[0])
    return blocks, total

