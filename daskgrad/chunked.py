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

Zero-length chunks (boolean indexing + ``compute_chunk_sizes()``, concatenating
empty arrays, some rechunks) are allowed: an empty block is never a face source
(faces are gathered across it), the ends of a non-periodic axis are its first and
last non-empty blocks, and an empty block's task returns empty arrays without
calling the kernel. Masked chunks (``_meta`` a ``numpy.ma.MaskedArray``, of ``f`` or
of Dask coordinates) are refused at call time, as NumPy masked input is.

The graph is built by ``_kernel_layer``/``_pick_layer`` from the names of the
input arrays, and turned into Dask arrays by ``_compat.array_from_graph``, in
either of Dask's array modes (classic ``HighLevelGraph``, or array expressions
with ``DASK_ARRAY__QUERY_PLANNING=True``, where optimisation may rename the
inputs and the layer is rebuilt with their new names). Same tasks, same bits.
"""

from __future__ import annotations

import functools
import operator
from typing import Any

import numpy as np

from ._compat import array_from_graph, array_namespace
from ._plan import AxisPlan, Plan
from ._scale import apply_scale, scale_segment
from ._spacing import axis_spacing
from .kernels import AxisSpec, gradient_block

__all__ = ["gradient_chunked"]

Sources = tuple[tuple[int, int], ...]  # ((neighbour block index, planes), ...), farthest first


def _face_sources(chunks: tuple[int, ...], periodic: bool, edge_order: int, depth: int = 1) -> list:
    """For each block along an axis: where its ``lo`` and ``hi`` planes come from.

    ``depth`` planes on each side (2 for ``nan_policy="omit"`` with ``edge_order=2``),
    fewer at the ends of a non-periodic axis where the axis has fewer. Empty blocks
    (zero-length chunks) read nothing and are never read from; the ends of a
    non-periodic axis are its first and last non-empty blocks.
    """
    m, out = len(chunks), list[tuple[Sources, Sources]]()
    full = [b for b in range(m) if chunks[b]]
    first, last = (full[0], full[-1]) if full else (0, -1)
    for b in range(m):
        if not chunks[b]:
            out.append(((), ()))
            continue
        n_lo = n_hi = depth
        if not periodic:
            one = edge_order == 2 and chunks[b] == 1
            n_lo = 0 if b == first else (2 if one and b == last else depth)
            n_hi = 0 if b == last else (2 if one and b == first else depth)
        out.append((_gather(chunks, b, -1, n_lo, periodic), _gather(chunks, b, 1, n_hi, periodic)))
    return out


def _gather(chunks: tuple[int, ...], b: int, step: int, need: int, periodic: bool) -> Sources:
    got: list[tuple[int, int]] = []
    j = b
    while need > 0:
        j = (j + step) % len(chunks) if periodic else j + step
        if not 0 <= j < len(chunks):
            break  # a non-periodic axis shorter than the depth: all there is
        take = min(need, chunks[j])
        if take:
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


def _kernel_task(
    block: Any, axes_args: list, dtype: np.dtype, edge_order: int, nan_policy: str
) -> Any:
    """All partial derivatives of one block, given its neighbours' faces, each times
    its metric segment if it has one (a tuple of arrays; the array itself when there
    is one axis)."""
    xp = array_namespace(block)
    if block.dtype != dtype:
        block = block.astype(dtype)
    specs, scales = [], []
    for axis, lo_parts, hi_parts, (h, dx), scale in axes_args:
        scales.append(scale)
        lo = _assemble(xp, lo_parts, axis, "lo")
        hi = _assemble(xp, hi_parts, axis, "hi")
        if dx is not None:
            dx = xp.asarray(dx)
        specs.append(AxisSpec(axis, edge_order, h=h, dx=dx, lo=lo, hi=hi))
    out = gradient_block(block, tuple(specs), dtype, parallel=False, nan_policy=nan_policy)
    out = tuple(apply_scale(xp, o, *s) for o, s in zip(out, scales, strict=True))
    return out[0] if len(out) == 1 else out


def _empty_task(block: Any, n_out: int, dtype: np.dtype) -> Any:
    """The outputs of an empty block (a zero-length chunk): empty arrays of its type."""
    xp = array_namespace(block)
    out = tuple(xp.empty(block.shape, dtype=dtype) for _ in range(n_out))
    return out[0] if n_out == 1 else out


def _coord_info(parts: list, periodic: bool, period: Any, force_dx: bool, depth: int = 1) -> tuple:
    """``(h, dx)`` of a whole (Dask) coordinate, from its computed chunks."""
    xp = array_namespace(*parts)
    concat = getattr(xp, "concat", None) or xp.concatenate
    x = concat(parts) if len(parts) > 1 else parts[0]
    return axis_spacing(xp, x, periodic=periodic, period=period, force_dx=force_dx, depth=depth)


def _segment(info: tuple, start: int, stop: int) -> list:
    h, dx = info
    return [h, None] if dx is None else [None, dx[start:stop]]


def _spacing_args(ap: AxisPlan, chunks: tuple[int, ...], sources: list, depth: int = 1) -> list:
    """Per block along the axis: its ``[h, dx segment]``, or for a Dask coordinate the
    ``(start, stop)`` of its segment (a task slices it out when the graph is built);
    None for an empty block. NumPy/CuPy coordinates are checked here, at call time."""
    if not ap.is_coord:
        return [[ap.spacing, None]] * len(chunks)
    whole = None
    if not _is_dask(ap.spacing):
        xp = array_namespace(ap.spacing)
        whole = axis_spacing(
            xp,
            ap.spacing,
            periodic=ap.periodic,
            period=ap.period,
            force_dx=ap.force_dx,
            depth=depth,
        )
    offsets = np.concatenate([[0], np.cumsum(chunks)]).astype(int).tolist()
    shift = depth if ap.periodic else 0
    out: list = []
    for b, (lo_src, hi_src) in enumerate(sources):
        if not chunks[b]:
            out.append(None)
            continue
        n_lo, n_hi = sum(c for _, c in lo_src), sum(c for _, c in hi_src)
        start, stop = offsets[b] - n_lo + shift, offsets[b + 1] + n_hi - 1 + shift
        out.append((start, stop) if whole is None else _segment(whole, start, stop))
    return out


def _is_dask(x: Any) -> bool:
    from ._compat import is_dask_array

    return is_dask_array(x)


def _check_input(f: Any, plan: Plan) -> None:
    """Call-time checks the plan cannot make on a Dask array: chunk sizes, masks."""
    if any(np.isnan(c) for cs in f.chunks for c in cs):
        raise ValueError("f: Dask array with unknown chunk sizes; call f.compute_chunk_sizes()")
    if isinstance(f._meta, np.ma.MaskedArray):
        raise TypeError(
            "f: masked arrays are not supported (a Dask array with masked chunks); pass "
            "dask.array.ma.filled(f, np.nan) with nan_policy='omit' (masked points become "
            "gaps: each run of valid points is differentiated on its own)"
        )
    for ap in plan.axes:
        if ap.is_coord and _is_dask(ap.spacing) and isinstance(ap.spacing._meta, np.ma.MaskedArray):
            raise TypeError(
                f"varargs/spacing: masked arrays are not supported (the Dask coordinates of "
                f"axis {ap.axis} have masked chunks); pass unmasked coordinates"
            )


def gradient_chunked(f: Any, plan: Plan) -> tuple[Any, ...]:
    """Lazy partial derivatives of Dask array ``f`` along ``plan.axes``.

    Works in both of Dask's array modes (classic and array-expression); zero-length
    chunks are allowed and give zero-length output chunks.

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
    from dask.base import tokenize

    _check_input(f, plan)
    per_axis = []
    for ap in plan.axes:
        chunks = f.chunks[ap.axis]
        sources = _face_sources(chunks, ap.periodic, plan.edge_order, plan.depth)
        per_axis.append((ap, sources, _spacing_args(ap, chunks, sources, plan.depth)))
    coords = [ap.spacing for ap in plan.axes if ap.is_coord and _is_dask(ap.spacing)]
    token = tokenize(f, plan.axes, plan.edge_order, plan.dtype, plan.nan_policy)
    meta = f._meta.astype(plan.dtype)
    single = len(plan.axes) == 1
    build = functools.partial(
        _kernel_layer, per_axis=per_axis, chunks=f.chunks, plan=plan, n_out=len(plan.axes)
    )
    kname = "daskgrad-{token}" if single else "daskgrad-{token}-kernel"
    kernel = array_from_graph(
        build, [f, *coords], name=kname, token=token, chunks=f.chunks, meta=meta
    )
    if single:
        return (kernel,)
    return tuple(
        array_from_graph(
            functools.partial(_pick_layer, i=i, numblocks=f.numblocks),
            [kernel],
            name="daskgrad-{token}-d" + str(ap.axis),
            token=token,
            chunks=f.chunks,
            meta=meta,
        )
        for i, ap in enumerate(plan.axes)
    )


def _pick_layer(name: str, token: str, deps: list[str], *, i: int, numblocks: tuple) -> dict:
    """Output ``i`` of every kernel task."""
    return {(name, *idx): (operator.getitem, (deps[0], *idx), i) for idx in np.ndindex(*numblocks)}


def _kernel_layer(
    name: str, token: str, deps: list[str], *, per_axis: list, chunks: tuple, plan: Plan, n_out: int
) -> dict:
    """The faces, coordinate and kernel tasks, for input ``deps[0]`` and Dask
    coordinates ``deps[1:]`` (in the order of ``plan.axes``)."""
    base, f_name, coord_names = f"daskgrad-{token}", deps[0], iter(deps[1:])
    numblocks = tuple(len(c) for c in chunks)
    graph: dict = {}
    spacings = []
    for ap, _, spacing in per_axis:
        if ap.is_coord and _is_dask(ap.spacing):
            info_key = (f"{base}-coord-{ap.axis}", 0)
            x_name = next(coord_names)
            keys = [(x_name, i) for i in range(ap.spacing.numblocks[0])]
            graph[info_key] = (_coord_info, keys, ap.periodic, ap.period, ap.force_dx, plan.depth)
            spacing = [None if s is None else (_segment, info_key, *s) for s in spacing]
        spacings.append(spacing)
    _faces_layer(f_name, chunks, per_axis, base, plan.dtype, graph)
    for idx in np.ndindex(*numblocks):
        if any(chunks[a][b] == 0 for a, b in enumerate(idx)):
            graph[(name, *idx)] = (_empty_task, (f_name, *idx), n_out, plan.dtype)
            continue
        axes_args = []
        for (ap, sources, _), spacing in zip(per_axis, spacings, strict=True):
            b = idx[ap.axis]
            lo_src, hi_src = sources[b]
            lo, hi = _parts(base, idx, ap.axis, lo_src), _parts(base, idx, ap.axis, hi_src)
            axes_args.append([ap.axis, lo, hi, spacing[b], _block_scale(ap, chunks, idx)])
        graph[(name, *idx)] = (
            _kernel_task,
            (f_name, *idx),
            axes_args,
            plan.dtype,
            plan.edge_order,
            plan.nan_policy,
        )
    return graph


def _block_scale(ap: AxisPlan, chunks: tuple, idx: tuple) -> tuple[Any, int | None]:
    """``(factor, axis)``: the metric segment of block ``idx`` (None: no metric)."""
    if ap.scale_axis is None:
        return ap.scale, None
    start = sum(chunks[ap.scale_axis][: idx[ap.scale_axis]])
    stop = start + chunks[ap.scale_axis][idx[ap.scale_axis]]
    return scale_segment(ap.scale, ap.scale_axis, start, stop), ap.scale_axis


def _parts(base: str, idx: tuple, axis: int, src: Sources) -> list:
    """Task-graph references to the neighbours' faces that make one face."""
    out = []
    for j, count in src:
        nidx = idx[:axis] + (j,) + idx[axis + 1 :]
        out.append([(f"{base}-faces", *nidx), count])
    return out


def _faces_layer(
    f_name: str, chunks: tuple, per_axis: list, base: str, dtype: np.dtype, graph: dict
) -> None:
    """One faces task per block whose planes, along any axis, some neighbour reads."""
    wanted_by_axis = faces_wanted(per_axis)
    for idx in np.ndindex(*(len(c) for c in chunks)):
        if any(chunks[a][b] == 0 for a, b in enumerate(idx)):
            continue
        wanted = block_faces(wanted_by_axis, idx)
        if wanted:
            graph[(f"{base}-faces", *idx)] = (_faces_task, (f_name, *idx), wanted, dtype)


def faces_wanted(per_axis: list) -> list[tuple[int, list[int], list[int]]]:
    """Per axis ``(axis, n_head, n_tail)``: how many first and last planes of each of its
    blocks some neighbour reads."""
    wanted_by_axis = []
    for ap, sources, _ in per_axis:
        m = len(sources)
        n_head, n_tail = [0] * m, [0] * m
        for lo_src, hi_src in sources:
            for j, c in lo_src:
                n_tail[j] = max(n_tail[j], c)
            for j, c in hi_src:
                n_head[j] = max(n_head[j], c)
        wanted_by_axis.append((ap.axis, n_head, n_tail))
    return wanted_by_axis


def block_faces(wanted_by_axis: list, idx: tuple) -> tuple:
    """The ``(axis, n_head, n_tail)`` that block ``idx``'s faces task copies."""
    return tuple(
        (axis, n_head[idx[axis]], n_tail[idx[axis]])
        for axis, n_head, n_tail in wanted_by_axis
        if n_head[idx[axis]] or n_tail[idx[axis]]
    )
