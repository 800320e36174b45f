"""The Dask layer: one halo exchange of depth 1 that moves only faces.

Why not ``map_overlap``: a gradient reads, for each block, one plane on each side
along each differentiated axis and nothing else. ``map_overlap`` with depth 1 on
three axes builds every block with its full halo -- the 6 faces, but also the 20
edge and corner pieces a gradient never reads -- copies it into a new array, runs
the function and trims the result: ~18 tasks per chunk and two full copies of the
data (see ``benchmarks/RESULTS.md``). Here, per input block:

- one *faces* task copies the block's first and last plane(s) along every
  differentiated axis whose planes a neighbour reads (skipped where none does);
- one *kernel* task computes every partial derivative of the block in one call,
  reading its neighbours' faces directly (no concatenated halo block, no trim);
- one ``getitem`` task per output picks that partial out of the kernel's tuple
  (none when a single axis is differentiated).

That is k + 2 tasks per chunk for k > 1 axes (5 for 3 axes; 2 for one axis, where
the kernel's array is the output). The price of one faces task per block rather than
one per (block, axis): a kernel whose neighbour sits on another worker fetches all of
that neighbour's faces, not just the plane it reads (for (64, 128, 128) blocks, 512
KiB per neighbour instead of 128-256 KiB; the block itself is 8 MiB). Fewer tasks
won on the 2-core machine's LocalCluster (uniform spacing: 2.06-2.29x
dask.array.gradient in two runs, against 1.76-1.98x with 7 tasks per chunk; see
``benchmarks/RESULTS.md``), and the scheduler's cost grows with tasks at any cluster
size. Output chunks are equal to
input chunks, and no rechunking at all: chunks of any size work, including size 1.
A block of size 1 at a non-periodic end with ``edge_order=2`` needs two planes on
its inner side; they are gathered from as many neighbours as it takes.

Coordinates travel alongside: NumPy/CuPy coordinates are sliced per block when the
graph is built (each task carries only its own segment); Dask coordinates stay
lazy: one task per axis turns them into differences (and makes NumPy's global
uniform-spacing decision), and each kernel slices its segment out of that.
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from ._compat import array_namespace
from ._plan import AxisPlan, Plan
from ._spacing import axis_spacing
from .kernels import AxisSpec, gradient_block

__all__ = ["gradient_chunked"]

Sources = tuple[tuple[int, int], ...]  # ((neighbour block index, planes), ...), farthest first


def _face_sources(chunks: tuple[int, ...], periodic: bool, edge_order: int) -> list:
    """For each block along an axis: where its ``lo`` and ``hi`` planes come from."""
    m, out = len(chunks), []
    for b in range(m):
        n_lo = n_hi = 1
        if not periodic:
            n_lo = 0 if b == 0 else (2 if edge_order == 2 and b == m - 1 and chunks[b] == 1 else 1)
            n_hi = 0 if b == m - 1 else (2 if edge_order == 2 and b == 0 and chunks[b] == 1 else 1)
        out.append((_gather(chunks, b, -1, n_lo, periodic), _gather(chunks, b, 1, n_hi, periodic)))
    return out


def _gather(chunks: tuple[int, ...], b: int, step: int, need: int, periodic: bool) -> Sources:
    got: list[tuple[int, int]] = []
    j = b
    while need > 0:
        j = (j + step) % len(chunks) if periodic else j + step
        take = min(need, chunks[j])
        got.append((j, take))
        need -= take
    return tuple(reversed(got)) if step < 0 else tuple(got)


def _faces_task(block: Any, wanted: tuple, dtype: np.dtype) -> dict:
    """``{axis: (head, tail)}``: copies of the first ``n_head`` and last ``n_tail``
    planes of ``block`` along each wanted ``(axis, n_head, n_tail)``."""
    out = {}
    for axis, n_head, n_tail in wanted:
        n = block.shape[axis]
        head = _take(block, axis, slice(0, n_head)).astype(dtype, copy=True)
        tail = _take(block, axis, slice(n - n_tail, n)).astype(dtype, copy=True)
        out[axis] = head, tail
    return out


def _take(a: Any, axis: int, index: slice) -> Any:
    key: list[Any] = [slice(None)] * a.ndim
    key[axis] = index
    return a[tuple(key)]


def _assemble(xp: Any, parts: list, axis: int, side: str) -> Any:
    """A face from neighbours' (head, tail) pairs: tails for ``lo``, heads for ``hi``."""
    if not parts:
        return None
    pieces = []
    for faces, count in parts:
        head, tail = faces[axis]
        if side == "lo":
            pieces.append(_take(tail, axis, slice(tail.shape[axis] - count, None)))
        else:
            pieces.append(_take(head, axis, slice(0, count)))
    if len(pieces) == 1:
        return pieces[0]
    concat = getattr(xp, "concat", None) or xp.concatenate
    return concat(pieces, axis=axis)


def _kernel_task(block: Any, axes_args: list, dtype: np.dtype, edge_order: int) -> Any:
    """All partial derivatives of one block, given its neighbours' faces
    (a tuple of arrays; the array itself when there is one axis)."""
    xp = array_namespace(block)
    if block.dtype != dtype:
        block = block.astype(dtype)
    specs = []
    for axis, lo_parts, hi_parts, (h, dx) in axes_args:
        lo = _assemble(xp, lo_parts, axis, "lo")
        hi = _assemble(xp, hi_parts, axis, "hi")
        if dx is not None:
            dx = xp.asarray(dx)
        specs.append(AxisSpec(axis, edge_order, h=h, dx=dx, lo=lo, hi=hi))
    out = gradient_block(block, tuple(specs), dtype, parallel=False)
    return out[0] if len(out) == 1 else out


def _coord_info(parts: list, periodic: bool, period: Any, force_dx: bool) -> tuple:
    """``(h, dx)`` of a whole (Dask) coordinate, from its computed chunks."""
    xp = array_namespace(*parts)
    concat = getattr(xp, "concat", None) or xp.concatenate
    x = concat(parts) if len(parts) > 1 else parts[0]
    return axis_spacing(xp, x, periodic=periodic, period=period, force_dx=force_dx)


def _segment(info: tuple, start: int, stop: int) -> list:
    h, dx = info
    return [h, None] if dx is None else [None, dx[start:stop]]


def _spacing_args(ap: AxisPlan, chunks: tuple[int, ...], sources: list, name: str, graph: dict):
    """Per block along the axis: ``(h, dx segment)`` literals or tasks producing them."""
    if not ap.is_coord:
        return [[ap.spacing, None]] * len(chunks)
    if _is_dask(ap.spacing):
        x = ap.spacing
        info_key = (f"{name}-coord-{ap.axis}", 0)
        keys = [(x.name, i) for i in range(x.numblocks[0])]
        graph[info_key] = (_coord_info, keys, ap.periodic, ap.period, ap.force_dx)
        whole = None
    else:
        xp = array_namespace(ap.spacing)
        whole = axis_spacing(
            xp, ap.spacing, periodic=ap.periodic, period=ap.period, force_dx=ap.force_dx
        )
    offsets = np.concatenate([[0], np.cumsum(chunks)]).tolist()
    out = []
    for b, (lo_src, hi_src) in enumerate(sources):
        n_lo, n_hi = sum(c for _, c in lo_src), sum(c for _, c in hi_src)
        shift = 1 if ap.periodic else 0
        start, stop = offsets[b] - n_lo + shift, offsets[b + 1] + n_hi - 1 + shift
        if whole is None:
            out.append((_segment, info_key, start, stop))
        else:
            out.append(_segment(whole, start, stop))
    return out


def _is_dask(x: Any) -> bool:
    from ._compat import is_dask_array

    return is_dask_array(x)


def gradient_chunked(f: Any, plan: Plan) -> tuple[Any, ...]:
    """Lazy partial derivatives of Dask array ``f`` along ``plan.axes``.

    Examples
    --------
    >>> import dask.array as da
    >>> from daskgrad._plan import make_plan
    >>> f = da.from_array(np.array([1.0, 2.0, 4.0, 7.0, 11.0]), chunks=2)
    >>> plan = make_plan(f, (), axis=None, edge_order=2, boundary="none", period=None,
    ...                  spacing=None, dim=None)
    >>> gradient_chunked(f, plan)[0].compute()
    array([0.5, 1.5, 2.5, 3.5, 4.5])
    """
    import dask.array as da
    from dask.base import tokenize
    from dask.highlevelgraph import HighLevelGraph

    if any(np.isnan(c) for cs in f.chunks for c in cs):
        raise ValueError("f: Dask array with unknown chunk sizes; call f.compute_chunk_sizes()")
    token = tokenize(f, plan.axes, plan.edge_order, plan.dtype)
    name = f"daskgrad-{token}"
    kname = name if len(plan.axes) == 1 else f"{name}-kernel"
    graph: dict = {}
    per_axis = []
    for ap in plan.axes:
        chunks = f.chunks[ap.axis]
        sources = _face_sources(chunks, ap.periodic, plan.edge_order)
        spacing = _spacing_args(ap, chunks, sources, name, graph)
        per_axis.append((ap.axis, sources, spacing))
    _faces_layer(f, per_axis, name, plan.dtype, graph)
    for idx in np.ndindex(*f.numblocks):
        axes_args = []
        for axis, sources, spacing in per_axis:
            b = idx[axis]
            lo_src, hi_src = sources[b]
            axes_args.append(
                [axis, _parts(name, idx, axis, lo_src), _parts(name, idx, axis, hi_src), spacing[b]]
            )
        graph[(kname, *idx)] = (
            _kernel_task,
            (f.name, *idx),
            axes_args,
            plan.dtype,
            plan.edge_order,
        )
    deps = [f] + [ap.spacing for ap in plan.axes if ap.is_coord and _is_dask(ap.spacing)]
    meta = f._meta.astype(plan.dtype)
    hlg = HighLevelGraph.from_collections(kname, graph, dependencies=deps)
    if len(plan.axes) == 1:
        return (da.Array(hlg, kname, chunks=f.chunks, dtype=plan.dtype, meta=meta),)
    layers, dependencies = dict(hlg.layers), dict(hlg.dependencies)
    outs = []
    for i, ap in enumerate(plan.axes):
        oname = f"{name}-d{ap.axis}"
        layers[oname] = {
            (oname, *idx): (operator.getitem, (kname, *idx), i) for idx in np.ndindex(*f.numblocks)
        }
        dependencies[oname] = {kname}
        outs.append(oname)
    hlg = HighLevelGraph(layers, dependencies)
    return tuple(da.Array(hlg, o, chunks=f.chunks, dtype=plan.dtype, meta=meta) for o in outs)


def _parts(name: str, idx: tuple, axis: int, src: Sources) -> list:
    """Task-graph references to the neighbours' faces that make one face."""
    out = []
    for j, count in src:
        nidx = idx[:axis] + (j,) + idx[axis + 1 :]
        out.append([(f"{name}-faces", *nidx), count])
    return out


def _faces_layer(f: Any, per_axis: list, name: str, dtype: np.dtype, graph: dict) -> None:
    """One faces task per block whose planes, along any axis, some neighbour reads."""
    wanted_by_axis = []
    for axis, sources, _ in per_axis:
        m = len(sources)
        n_head, n_tail = [0] * m, [0] * m
        for lo_src, hi_src in sources:
            for j, c in lo_src:
                n_tail[j] = max(n_tail[j], c)
            for j, c in hi_src:
                n_head[j] = max(n_head[j], c)
        wanted_by_axis.append((axis, n_head, n_tail))
    for idx in np.ndindex(*f.numblocks):
        wanted = tuple(
            (axis, n_head[idx[axis]], n_tail[idx[axis]])
            for axis, n_head, n_tail in wanted_by_axis
            if n_head[idx[axis]] or n_tail[idx[axis]]
        )
        if wanted:
            graph[(f"{name}-faces", *idx)] = (_faces_task, (f.name, *idx), wanted, dtype)
