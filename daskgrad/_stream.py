"""Streaming the command's result into OUTPUT on a cluster, in bounded batches."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ._store import write_block

__all__ = ["stream_to_zarr"]


def stream_to_zarr(
    client: Any, result: Any, path: str, blocks: list[tuple], progress: Any, batch_size: int
) -> None:
    """Compute ``blocks`` of ``result`` on ``client`` and write each into its chunk of ``path``.

    Blocks go to the cluster in batches of ``batch_size``, at most two batches in
    flight: memory is bounded by the batch (chunk size × workers), not by the
    dataset. A batch shares its halo reads; a worker that dies is replaced and its
    tasks are recomputed by distributed (a rewritten chunk has the same bytes).
    """
    from dask._task_spec import Task, TaskRef
    from dask.base import collections_to_expr, tokenize
    from dask.optimization import cull
    from distributed import as_completed

    arrays = [var.data for var in result.data_vars.values()]
    itemsize = {str(k): np.dtype(v.dtype).itemsize for k, v in result.data_vars.items()}
    graph = dict(collections_to_expr(arrays, optimize_graph=True).__dask_graph__())
    run = "daskgrad-write-" + tokenize(path, [a.name for a in arrays], time.time())
    batches = iter([blocks[i : i + batch_size] for i in range(0, len(blocks), batch_size)])
    pending = as_completed()

    def submit_next() -> int:
        batch = next(batches, None)
        if batch is None:
            return 0
        sub, _ = cull(graph, [key for _, _, key, _ in batch])
        keys = []
        for idx, name, key, region in batch:
            wkey = (f"{run}-{name}", *idx)
            sub[wkey] = Task(wkey, write_block, TaskRef(key), path, name, region, run)
            keys.append(wkey)
        pending.update(client.get(sub, keys, sync=False))
        return len(batch)

    nbytes = {
        wkey: int(np.prod([r.stop - r.start for r in region])) * itemsize[name]
        for idx, name, _, region in blocks
        for wkey in [(f"{run}-{name}", *idx)]
    }
    outstanding = submit_next() + submit_next()
    for future in pending:
        if future.status != "finished":
            future.result()  # raises the task's error
        progress.advance(1, nbytes.pop(future.key))
        outstanding -= 1
        if outstanding <= batch_size:
            outstanding += submit_next()

