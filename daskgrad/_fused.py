"""Divergence and vorticity in one task per chunk: ``post * (da/dx + sign * d(pre b)/dy)``.

:mod:`daskgrad.vector` composes its operators from two partial derivatives, one of
each component: ``da/dx`` and ``d(pre * b)/dy``, where ``pre`` is ``cos(phi)`` on a
geographic grid (flux form) and ``post`` the zonal metric ``1 / (R cos phi)``
(:mod:`daskgrad._geo`). Composed from array operations that is a product layer, two
gradients, a sum and a product: 8.3 tasks per chunk on Dask and, in memory, four
temporaries the size of the result. Here one function computes the whole expression
on one block:

- **Dask**: per chunk one faces task (``a``'s planes along x and ``b``'s along y
  that the neighbours read) and one operator task that assembles both halos,
  multiplies ``pre`` into ``b``'s block and faces (each row by its own latitude's
  factor), calls the kernel once per component, sums in place and multiplies in
  ``post``: 2 tasks per chunk, one output per block.
- **In memory**: the same function over slabs of the axes that are not
  differentiated (time, level), written into one output array: the temporaries are
  a few slabs, not whole fields.

The operations and their order are those of the composition (``x + (-y)`` is
``x - y`` exactly, ``out *= c`` rounds as ``out * c``): the values are bit-identical.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._compat import array_namespace, is_dask_array
from ._plan import Plan
from ._scale import apply_scale
from .kernels import AxisSpec, gradient_block

__all__ = ["Operator", "apply_operator"]

_SLAB_BYTES = 4 << 20  # in memory: at most this much of one field per slab
_SLAB_FRACTION = 16  # ... and at most 1/16 of it
_TASK_SLAB_BYTES = 2 << 20  # in a Dask task: slabs of about this much of one field


@dataclass(frozen=True)
class Operator:
    """``post * (da/dx + sign * d(pre * b)/dy)`` on fields of the same dims and dtype.

    ``plan_a``/``plan_b`` each differentiate one axis (x for ``a``, y for ``b``);
    ``pre`` is None or a 1-D NumPy array along ``b``'s y axis (its length);
    ``post`` is None or ``(factor, axis)``: a scalar (axis None) or a 1-D array along
    that axis, as :func:`daskgrad._scale.apply_scale` takes it.
    """

    plan_a: Plan
    plan_b: Plan
    sign: int
    pre: Any = None
    post: tuple[Any, int | None] | None = None


def apply_operator(a: Any, b: Any, op: Operator) -> Any:
    """The operator's field: lazy for Dask ``a``/``b`` (same chunks), else in memory.

    Examples
    --------
    >>> from daskgrad._plan import make_plan
    >>> x = np.arange(4.0)
    >>> a, b = np.tile(x**2, (3, 1)), np.tile(x[:3, None], (1, 4))
    >>> kw = dict(edge_order=1, boundary="none", period=None, spacing=None, dim=None)
    >>> op = Operator(make_plan(a, (), axis=1, **kw), make_plan(b, (), axis=0, **kw), +1)
    >>> apply_operator(a, b, op)[0]   # d(x**2)/dx + d(y)/dy
    array([2., 3., 5., 6.])
    """
    if is_dask_array(a):
        return _chunked(a, b, op)
    return _in_memory(a, b, op)


# ----------------------------------------------------------------------------------
# One block


def _shaped(xp: Any, values: Any, axis: int, ndim: int) -> Any:
    shape = [1] * ndim
    shape[axis] = -1
    return xp.reshape(xp.asarray(values), tuple(shape))


def _term(xp: Any, block: Any, spec: AxisSpec, pre: tuple | None, kw: dict, parallel: bool) -> Any:
    """One partial derivative of one block; ``pre``: (lo, block, hi) factor rows;
    ``kw``: the output ``dtype`` and the ``nan_policy``."""
    if pre is not None:
        p_lo, p_mid, p_hi = (
            None if p is None else _shaped(xp, p, spec.axis, block.ndim) for p in pre
        )
        block = block * p_mid
        lo = None if spec.lo is None else spec.lo * p_lo
        hi = None if spec.hi is None else spec.hi * p_hi
        spec = AxisSpec(spec.axis, spec.edge_order, h=spec.h, dx=spec.dx, lo=lo, hi=hi)
    (out,) = gradient_block(block, (spec,), kw["dtype"], parallel=parallel, **_nan(kw))
    return out


def _nan(kw: dict) -> dict:
    return {"nan_policy": kw["nan_policy"]}


def _kw(plan: Plan) -> dict:
    return {"dtype": plan.dtype, "nan_policy": plan.nan_policy}


def _combine(xp: Any, out: Any, da_dx: Any, db_dy: Any, sign: int, post: tuple | None) -> None:
    """``out[...] = post * (da_dx + sign * db_dy)``, written into ``out`` (a view)."""
    (xp.add if sign > 0 else xp.subtract)(da_dx, db_dy, out=out)
    if post is not None:
        apply_scale(xp, out, *post)


# ----------------------------------------------------------------------------------
# In memory: slab by slab


def _slabs(
    shape: tuple[int, ...], busy: set[int], itemsize: int, budget: int | None = None
) -> list[tuple]:
    """Index tuples cutting the first axis not in ``busy`` into slabs of at most
    ``budget`` bytes (default: 32 MiB or 1/16 of the array, whichever is less)."""
    free = [i for i in range(len(shape)) if i not in busy and shape[i] > 1]
    if not free:
        return [(...,)]
    axis = free[0]
    total = int(np.prod(shape)) * itemsize
    per_step = total // shape[axis]
    if budget is None:
        budget = min(_SLAB_BYTES, total // _SLAB_FRACTION)
    step = max(1, budget // max(per_step, 1))
    key = [slice(None)] * len(shape)
    out = []
    for start in range(0, shape[axis], step):
        key[axis] = slice(start, start + step)
        out.append(tuple(key))
    return out


def _in_memory(a: Any, b: Any, op: Operator) -> Any:
    from .api import axis_spec

    xp = array_namespace(a, b)
    pa, pb = op.plan_a, op.plan_b
    ax, ay = pa.axes[0], pb.axes[0]
    out = xp.empty(a.shape, dtype=pa.dtype)
    if a.size == 0:
        return out
    for key in _slabs(a.shape, {ax.axis, ay.axis}, np.dtype(pa.dtype).itemsize):
        a_s, b_s = a[key], b[key]
        if op.pre is not None:  # before the faces: a periodic y axis wraps the product
            b_s = b_s * _shaped(xp, op.pre, ay.axis, b.ndim)
        spec_a = axis_spec(xp, a_s, ax, pa.edge_order, pa.depth)
        spec_b = axis_spec(xp, b_s, ay, pb.edge_order, pb.depth)
        da_dx = _term(xp, a_s, spec_a, None, _kw(pa), True)
        db_dy = _term(xp, b_s, spec_b, None, _kw(pb), True)
        _combine(xp, out[key], da_dx, db_dy, op.sign, op.post)
    return out


# ----------------------------------------------------------------------------------
# Dask: faces of a along x, faces of b along y, one operator task per chunk


def _chunked(a: Any, b: Any, op: Operator) -> Any:
    from dask.base import tokenize

    from ._compat import array_from_graph
    from .chunked import _check_input, _face_sources, _spacing_args

    pa, pb = op.plan_a, op.plan_b
    _check_input(a, pa)
    _check_input(b, pb)
    if b.chunks != a.chunks:
        b = b.rechunk(a.chunks)
    sides = []
    for plan in (pa, pb):
        ap = plan.axes[0]
        n = a.chunks[ap.axis]
        sources = _face_sources(n, ap.periodic, plan.edge_order, plan.depth)
        sides.append((ap, sources, _spacing_args(ap, n, sources, plan.depth)))
    token = tokenize(a, b, pa.axes, pb.axes, pa.edge_order, pa.nan_policy, op.sign, op.pre)
    token = tokenize(token, op.post)
    build = functools.partial(_layer, sides=sides, chunks=a.chunks, op=op)
    meta = a._meta.astype(pa.dtype)
    return array_from_graph(
        build, [a, b], name="daskgrad-{token}-op", token=token, chunks=a.chunks, meta=meta
    )


def _layer(
    name: str, token: str, deps: list[str], *, sides: list, chunks: tuple, op: Operator
) -> dict:
    """One faces task per block for both fields (a's planes along x, b's along y) and
    one operator task per block.

    One faces task for the pair, not one per field: each input block of ``a`` and of
    ``b`` is then read by exactly two tasks of the same block index, as the one input
    of a gradient is. With a faces task per field, dask's ordering ran far ahead along
    the non-differentiated axis on the threaded scheduler and held input blocks of
    every time slab (peak memory growing with the array, ``benchmarks/store_memory.py``);
    with the pair it walks the blocks in order and the peak stays a few chunks.
    """
    from .chunked import _parts, block_faces, faces_wanted

    graph: dict = {}
    base = f"daskgrad-{token}"
    wanted = [faces_wanted([side]) for side in sides]
    dtypes = (op.plan_a.dtype, op.plan_b.dtype)
    offsets = [np.concatenate([[0], np.cumsum(c)]).astype(int).tolist() for c in chunks]
    for idx in np.ndindex(*(len(c) for c in chunks)):
        if any(chunks[i][j] == 0 for i, j in enumerate(idx)):
            continue
        pair = tuple(block_faces(w, idx) for w in wanted)
        if any(pair):
            graph[(f"{base}-faces", *idx)] = (
                _pair_faces,
                (deps[0], *idx),
                (deps[1], *idx),
                pair,
                dtypes,
            )
    for idx in np.ndindex(*(len(c) for c in chunks)):
        if any(chunks[i][j] == 0 for i, j in enumerate(idx)):
            graph[(name, *idx)] = (_empty_task, (deps[0], *idx), op.plan_a.dtype)
            continue
        terms = []
        for ap, sources, spacing in sides:
            lo_src, hi_src = sources[idx[ap.axis]]
            lo, hi = _parts(base, idx, ap.axis, lo_src), _parts(base, idx, ap.axis, hi_src)
            terms.append([ap.axis, lo, hi, spacing[idx[ap.axis]]])
        ay = sides[1][0].axis
        pre = None if op.pre is None else _pre_rows(op.pre, offsets[ay], sides[1][1], idx[ay])
        graph[(name, *idx)] = (
            _block_task,
            (deps[0], *idx),
            (deps[1], *idx),
            terms,
            pre,
            _post_segment(op.post, offsets, idx),
            (_kw(op.plan_a), _kw(op.plan_b), op.plan_a.edge_order, op.sign),
        )
    return graph


def _pair_faces(a: Any, b: Any, wanted: tuple, dtypes: tuple) -> tuple:
    """The faces of block ``a`` and of block ``b`` (:func:`daskgrad.chunked._faces_task`)."""
    from .chunked import _faces_task

    return tuple(
        _faces_task(block, w, dtype) if w else {}
        for block, w, dtype in zip((a, b), wanted, dtypes, strict=True)
    )


def _pre_rows(pre: Any, offsets: list[int], sources: list, j: int) -> tuple:
    """``pre``'s factors for block ``j``'s lo face rows, its own rows, its hi face rows."""
    lo_src, hi_src = sources[j]
    lo = [r for k, c in lo_src for r in range(offsets[k + 1] - c, offsets[k + 1])]
    hi = [r for k, c in hi_src for r in range(offsets[k], offsets[k] + c)]
    return (
        pre[lo] if lo else None,
        pre[offsets[j] : offsets[j + 1]],
        pre[hi] if hi else None,
    )


def _post_segment(post: tuple | None, offsets: list, idx: tuple) -> tuple | None:
    if post is None or post[1] is None:
        return post
    factor, axis = post
    return factor[offsets[axis][idx[axis]] : offsets[axis][idx[axis] + 1]], axis


def _empty_task(block: Any, dtype: Any) -> Any:
    return array_namespace(block).empty(block.shape, dtype=dtype)


def _block_task(
    a: Any, b: Any, terms: list, pre: tuple | None, post: tuple | None, how: tuple
) -> Any:
    """The operator on one block of ``a`` and of ``b``, given their neighbours' faces;
    ``how``: each term's dtype/nan_policy, the edge order and the sign.

    The block is computed in slabs of about 1 MiB along an axis that is not
    differentiated, into one output array: each slab's temporaries (``pre * b``, the
    two partials) are freed before the next is made and the allocator hands the same
    memory back, so a task touches fresh pages only for its output (page faults on
    new memory cost more here than the arithmetic).
    """
    from .chunked import _assemble

    kw_a, kw_b, edge_order, sign = how
    xp = array_namespace(a, b)
    blocks, specs = [], []
    for i, (block, (axis, lo_parts, hi_parts, (h, dx)), kw) in enumerate(
        zip((a, b), terms, (kw_a, kw_b), strict=True)
    ):
        if block.dtype != kw["dtype"]:
            block = block.astype(kw["dtype"])
        # each faces task holds the pair (a's faces, b's faces): take this field's
        lo = _assemble(xp, [(faces[i], n) for faces, n in lo_parts], axis, "lo")
        hi = _assemble(xp, [(faces[i], n) for faces, n in hi_parts], axis, "hi")
        dx = None if dx is None else xp.asarray(dx)
        blocks.append(block)
        specs.append(AxisSpec(axis, edge_order, h=h, dx=dx, lo=lo, hi=hi))
    out = xp.empty(a.shape, dtype=kw_a["dtype"])
    busy = {spec.axis for spec in specs}
    for key in _slabs(a.shape, busy, np.dtype(kw_a["dtype"]).itemsize, _TASK_SLAB_BYTES):
        parts = [
            _term(xp, block[key], _sliced(spec, key), p, kw, False)
            for block, spec, p, kw in zip(blocks, specs, (None, pre), (kw_a, kw_b), strict=True)
        ]
        _combine(xp, out[key], parts[0], parts[1], sign, post)
    return out


def _sliced(spec: AxisSpec, key: tuple) -> AxisSpec:
    """``spec`` for the slab ``key`` of its block (``key`` cuts another axis)."""
    lo = None if spec.lo is None else spec.lo[key]
    hi = None if spec.hi is None else spec.hi[key]
    return AxisSpec(spec.axis, spec.edge_order, h=spec.h, dx=spec.dx, lo=lo, hi=hi)
