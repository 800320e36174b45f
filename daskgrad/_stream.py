"""Streaming the command's result into OUTPUT on a cluster, one storage unit per task, in
bounded batches.

A *unit* is what Zarr stores as one object: a chunk, or with ``--shards`` a shard.
Each unit is written whole by ONE task that gathers the unit's blocks (the
computation's chunks) and assigns them to the unit's region of the Zarr array, so no
two tasks ever write into one object. The graph is materialised once through the
collection protocol (``dask.optimize`` + ``__dask_graph__``/``__dask_keys__``, which
both of Dask's array modes provide); each batch is culled from it with the documented
``dask.optimization.cull`` and submitted with ``Client.get``; ``distributed.as_completed``
reports progress. At most two batches are in flight, so the scheduler never holds the
whole graph and memory is bounded by the batch (chunk size × workers), not by the data.
"""

from __future__ import annotations

import functools
import itertools
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._compat import dask_array_expr_enabled
from ._store import Layout, chunk_key, open_output_array, present_keys

__all__ = [
    "Unit",
    "find_undecodable",
    "pending_units",
    "plan_units",
    "stream_to_zarr",
    "write_unit",
]


@dataclass(frozen=True)
class Unit:
    """One chunk or shard of an output variable and the dask blocks it is made of."""

    name: str
    index: tuple[int, ...]
    region: tuple[tuple[int, int], ...]
    blocks: tuple[tuple[int, ...], ...]
    grid: tuple[int, ...]
    nbytes: int

    @property
    def nchunks(self) -> int:
        """How many Zarr chunks (dask blocks) the unit holds."""
        return len(self.blocks)


def plan_units(result: Any, layout: Layout) -> list[Unit]:
    """Every unit of every output variable, ordered by unit index so that the variables
    of one region are computed together (they share their halo reads)."""
    units = []
    for name, var in result.data_vars.items():
        per_unit = layout.unit_blocks(var)
        starts = [np.concatenate([[0], np.cumsum(c)]).astype(int) for c in var.chunks]
        nblocks = [len(c) for c in var.chunks]
        itemsize = np.dtype(var.dtype).itemsize
        counts = [-(-n // m) for n, m in zip(nblocks, per_unit, strict=True)]
        for index in np.ndindex(*counts):
            ranges = [
                range(i * m, min((i + 1) * m, n))
                for i, m, n in zip(index, per_unit, nblocks, strict=True)
            ]
            region = tuple(
                (int(s[r[0]]), int(s[r[-1] + 1])) for s, r in zip(starts, ranges, strict=True)
            )
            size = int(np.prod([b - a for a, b in region])) * itemsize
            blocks = tuple(itertools.product(*ranges))  # C order, as np.block nests them
            grid = tuple(len(r) for r in ranges)
            units.append(Unit(str(name), tuple(map(int, index)), region, blocks, grid, size))
    units.sort(key=lambda u: (u.index, u.name))
    return units


def pending_units(
    units: list[Unit], path: str, options: dict[str, Any] | None = None
) -> tuple[list[Unit], list[Unit]]:
    """Split ``units`` into those whose object is present in OUTPUT and those missing."""
    present: list[Unit] = []
    missing: list[Unit] = []
    listed: dict[str, tuple[dict[str, int], dict[str, Any]]] = {}
    for unit in units:
        if unit.name not in listed:
            listed[unit.name] = present_keys(path, unit.name, options)
        keys, metadata = listed[unit.name]
        size = keys.get(chunk_key(metadata, unit.index))
        (present if size else missing).append(unit)  # a 0-byte object is not a chunk
    return present, missing


@functools.lru_cache(maxsize=64)
def _output_array(path: str, name: str, run: str, options: str) -> Any:
    return open_output_array(path, name, json.loads(options) or None)


def write_unit(
    blocks: list, path: str, name: str, region: tuple, run: str = "", options: str = "{}"
) -> int:
    """Write one unit (runs on a worker): its blocks, nested as ``np.block`` takes them,
    into ``region`` of OUTPUT's array ``name`` in one assignment (one object written).

    ``run`` identifies the run, so a worker reopens the array for each new run;
    ``options`` are the storage options as JSON. Returns the bytes written (uncompressed).
    """
    data = np.block(blocks)
    _output_array(path, name, run, options)[tuple(slice(a, b) for a, b in region)] = data
    return int(data.nbytes)


def _decodes(path: str, name: str, region: tuple, key: str, blosc: bool, options: str) -> bool:
    """Whether the unit stored at ``key`` decodes; an undecodable one is deleted, so that
    its rewrite starts from nothing (zarr reads an edge shard back before writing it)."""
    from ._store import _fs

    opts = json.loads(options) or None
    fs, _ = _fs(path, opts)
    try:
        open_output_array(path, name, opts)[tuple(slice(a, b) for a, b in region)]
        if blosc:
            _check_blosc_frame(fs.cat_file(key), key)
    except Exception:  # any decoding error: 0-byte, truncated, bad checksum
        if fs.exists(key):
            fs.rm_file(key)
        return False
    return True


def _check_blosc_frame(raw: bytes, key: str) -> None:
    """Raise if a format-2 Blosc chunk is shorter than its header says: Blosc decodes a
    truncated frame without an error (into garbage), so its length is checked here."""
    # the Blosc 1 header (16 bytes): version, versionlz, flags, typesize, then uint32 LE
    # nbytes, blocksize and cbytes (the frame's whole length)
    cbytes = int.from_bytes(raw[12:16], "little") if len(raw) >= 16 else -1
    if cbytes != len(raw):
        raise ValueError(f"{key}: Blosc frame of {len(raw)} bytes, header says {cbytes}")


def find_undecodable(
    client: Any, path: str, units: list[Unit], options: dict[str, Any] | None = None
) -> list[Unit]:
    """The present ``units`` whose object does not decode (read on the cluster)."""
    from ._store import _array_metadata, _fs

    if not units:
        return []
    text = json.dumps(options or {}, sort_keys=True)
    run = uuid.uuid4().hex  # keys of this call only: a later call must not reuse results
    fs, root = _fs(path, options)
    metadata = {n: _array_metadata(fs, root, n) for n in {u.name for u in units}}
    futures = []
    for i, u in enumerate(units):
        meta = metadata[u.name]
        key = f"{root}/{u.name}/{chunk_key(meta, u.index)}"
        blosc = (meta.get("compressor") or {}).get("id") == "blosc"
        futures.append(
            client.submit(
                _decodes,
                path,
                u.name,
                u.region,
                key,
                blosc,
                text,
                pure=False,
                key=f"verify-{run}-{i}",
            )
        )
    ok = client.gather(futures)
    return [u for u, good in zip(units, ok, strict=True) if not good]


def _nested(unit: Unit, keys: Any) -> list:
    def key(block: tuple[int, ...]) -> Any:
        k = keys
        for i in block:
            k = k[i]
        return k

    flat = [key(b) for b in unit.blocks]
    for n in reversed(unit.grid):
        flat = [flat[i : i + n] for i in range(0, len(flat), n)]
    return flat[0]


def stream_to_zarr(
    client: Any,
    result: Any,
    path: str,
    units: list[Unit],
    progress: Any,
    batch_size: int,
    options: dict[str, Any] | None = None,
) -> None:
    """Compute ``units`` of ``result`` on ``client`` and write each whole into OUTPUT.

    ``batch_size`` counts chunks: a batch holds as many units as make up about that
    many chunks (at least one). A batch shares its halo reads; a worker that dies is
    replaced and its tasks are recomputed by distributed (a rewritten unit has the
    same bytes).
    """
    import dask
    from dask.base import tokenize
    from dask.optimization import cull
    from distributed import as_completed

    names = list(result.data_vars)
    arrays = [result[n].data for n in names]
    if dask_array_expr_enabled():  # dask.optimize does not lower array expressions there
        arrays = [a.optimize() for a in arrays]
    else:
        arrays = list(dask.optimize(*arrays))
    graph: dict = {}
    keys = {}
    for name, arr in zip(names, arrays, strict=True):
        graph.update(arr.__dask_graph__())
        keys[str(name)] = arr.__dask_keys__()
    text = json.dumps(options or {}, sort_keys=True)
    run = "daskgrad-write-" + tokenize(path, [a.name for a in arrays], time.time())
    per_batch = max(1, batch_size // max(max((u.nchunks for u in units), default=1), 1))
    batches = iter([units[i : i + per_batch] for i in range(0, len(units), per_batch)])
    pending = as_completed()
    sizes: dict[Any, Unit] = {}

    def submit_next() -> int:
        batch = next(batches, None)
        if batch is None:
            return 0
        nested = [_nested(u, keys[u.name]) for u in batch]
        needed = [k for u in batch for k in _flatten(_nested(u, keys[u.name]))]
        sub, _ = cull(graph, needed)
        out = []
        for unit, blocks in zip(batch, nested, strict=True):
            wkey = (f"{run}-{unit.name}", *unit.index)
            write = functools.partial(
                write_unit, path=path, name=unit.name, region=unit.region, run=run, options=text
            )
            sub[wkey] = (write, blocks)
            sizes[wkey] = unit
            out.append(wkey)
        pending.update(client.get(sub, out, sync=False))
        return len(batch)

    outstanding = submit_next() + submit_next()
    for future in pending:
        if future.status != "finished":
            future.result()  # raises the task's error
        unit = sizes.pop(future.key)
        progress.advance(unit.nchunks, unit.nbytes)
        outstanding -= 1
        if outstanding <= per_batch:
            outstanding += submit_next()


def _flatten(nested: Any) -> list:
    if isinstance(nested, list):
        return [k for item in nested for k in _flatten(item)]
    return [nested]
