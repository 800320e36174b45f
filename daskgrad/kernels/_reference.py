"""The reference stencil: slicing arithmetic on any array namespace.

Written against the array API (NumPy, CuPy, ``array_api_strict``): it uses only
slicing, arithmetic, ``reshape``, ``concat`` and ``empty``. Each formula and its
order of operations is NumPy's (``numpy/lib/_function_base_impl.py::gradient``),
so results on NumPy are bit-identical to ``numpy.gradient``.

One block is differentiated along each requested axis. A block may come with
*faces*: the planes just before (``lo``) and after (``hi``) it along an axis,
taken from its neighbours (chunked layer) or from the other end of the axis
(periodic boundary). A side without a face is a domain edge and gets NumPy's
one-sided difference of ``edge_order``.
"""

from __future__ import annotations

from typing import Any

from ._spec import AxisSpec, face_len

__all__ = ["axis_derivative", "gradient_block"]


def _concat(xp: Any, arrays: list[Any], axis: int) -> Any:
    concat = getattr(xp, "concat", None) or xp.concatenate
    return concat(arrays, axis=axis)


def _sl(ndim: int, axis: int, index: Any) -> tuple[Any, ...]:
    key: list[Any] = [slice(None)] * ndim
    key[axis] = index
    return tuple(key)


def _extend(xp: Any, f: Any, spec: AxisSpec) -> Any:
    """``lo + f + hi`` along ``spec.axis`` (a copy only when faces exist)."""
    parts = [p for p in (spec.lo, f, spec.hi) if p is not None and p.shape[spec.axis] > 0]
    if len(parts) == 1:
        return f
    return _concat(xp, parts, spec.axis)


def _central(xp: Any, ext: Any, spec: AxisSpec, start: int, stop: int) -> Any:
    """Second-order central differences at ``ext`` positions ``start:stop``."""
    nd, ax = ext.ndim, spec.axis
    left = ext[_sl(nd, ax, slice(start - 1, stop - 1))]
    right = ext[_sl(nd, ax, slice(start + 1, stop + 1))]
    if spec.dx is None:
        return (right - left) / (2.0 * spec.h)
    dx1 = spec.dx[start - 1 : stop - 1]
    dx2 = spec.dx[start:stop]
    a = -(dx2) / (dx1 * (dx1 + dx2))
    b = (dx2 - dx1) / (dx1 * dx2)
    c = dx1 / (dx2 * (dx1 + dx2))
    shape = [1] * nd
    shape[ax] = -1
    a, b, c = (xp.reshape(v, tuple(shape)) for v in (a, b, c))
    mid = ext[_sl(nd, ax, slice(start, stop))]
    return a * left + b * mid + c * right


def _edge(ext: Any, spec: AxisSpec, side: int) -> Any:
    """NumPy's one-sided difference at the first (``side=0``) or last (``-1``) point."""
    nd, ax, h, dx = ext.ndim, spec.axis, spec.h, spec.dx

    def at(i: int) -> Any:
        return ext[_sl(nd, ax, i)]

    if spec.edge_order == 1:
        if side == 0:
            return (at(1) - at(0)) / (h if dx is None else dx[0])
        return (at(-1) - at(-2)) / (h if dx is None else dx[-1])
    if side == 0:
        if dx is None:
            a, b, c = -1.5 / h, 2.0 / h, -0.5 / h
        else:
            dx1, dx2 = dx[0], dx[1]
            a = -(2.0 * dx1 + dx2) / (dx1 * (dx1 + dx2))
            b = (dx1 + dx2) / (dx1 * dx2)
            c = -dx1 / (dx2 * (dx1 + dx2))
        return a * at(0) + b * at(1) + c * at(2)
    if dx is None:
        a, b, c = 0.5 / h, -2.0 / h, 1.5 / h
    else:
        dx1, dx2 = dx[-2], dx[-1]
        a = (dx2) / (dx1 * (dx1 + dx2))
        b = -(dx2 + dx1) / (dx1 * dx2)
        c = (2.0 * dx2 + dx1) / (dx2 * (dx1 + dx2))
    return a * at(-3) + b * at(-2) + c * at(-1)


def axis_derivative(xp: Any, f: Any, spec: AxisSpec, out: Any) -> Any:
    """Write the derivative of block ``f`` along ``spec.axis`` into ``out``.

    ``out`` has ``f``'s shape. Points with a neighbour on both sides (in the block
    or in a face) get the central difference; a side without a face is a domain
    edge and gets the one-sided difference.

    Examples
    --------
    >>> import numpy as np
    >>> from daskgrad.kernels import AxisSpec
    >>> f = np.array([1.0, 2.0, 4.0, 7.0, 11.0])
    >>> out = np.empty_like(f)
    >>> axis_derivative(np, f, AxisSpec(axis=0, edge_order=1, h=1.0), out)
    array([1. , 1.5, 2.5, 3.5, 4. ])
    """
    ax = spec.axis
    n_lo, n = face_len(spec.lo, ax), f.shape[ax]
    ext = _extend(xp, f, spec)
    length = ext.shape[ax]
    start, stop = max(n_lo, 1), min(n_lo + n, length - 1)
    nd = f.ndim
    if stop > start:
        out[_sl(nd, ax, slice(start - n_lo, stop - n_lo))] = _central(xp, ext, spec, start, stop)
    if n_lo == 0:
        out[_sl(nd, ax, 0)] = _edge(ext, spec, 0)
    if face_len(spec.hi, ax) == 0:
        out[_sl(nd, ax, n - 1)] = _edge(ext, spec, -1)
    return out


def gradient_block(f: Any, specs: tuple[AxisSpec, ...], dtype: Any) -> tuple[Any, ...]:
    """All partial derivatives of one in-memory block, one array per spec.

    ``f`` and its faces must already have a floating or complex dtype; ``dtype``
    is the output dtype (NumPy's: that of ``f``).

    Examples
    --------
    >>> import numpy as np
    >>> from daskgrad.kernels import AxisSpec
    >>> f = np.array([[1.0, 2.0, 6.0], [3.0, 4.0, 5.0]])
    >>> specs = (AxisSpec(0, 1, h=1.0), AxisSpec(1, 1, h=1.0))
    >>> [g.tolist() for g in gradient_block(f, specs, f.dtype)]
    [[[2.0, 2.0, -1.0], [2.0, 2.0, -1.0]], [[1.0, 2.5, 4.0], [1.0, 1.0, 1.0]]]
    """
    from daskgrad._compat import array_namespace

    xp = array_namespace(f)
    outs = []
    for spec in specs:
        out = xp.empty(f.shape, dtype=dtype)
        outs.append(axis_derivative(xp, f, spec, out))
    return tuple(outs)
