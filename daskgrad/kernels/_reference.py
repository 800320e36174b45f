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


def _window(xp: Any, f: Any, spec: AxisSpec, start: int, stop: int) -> Any:
    """Planes ``start:stop`` of ``lo + f + hi`` along the axis (a few planes at most)."""
    ax, n_lo, n = spec.axis, face_len(spec.lo, spec.axis), f.shape[spec.axis]
    parts = []
    for piece, offset in ((spec.lo, 0), (f, n_lo), (spec.hi, n_lo + n)):
        if piece is None:
            continue
        a, b = max(start - offset, 0), min(stop - offset, piece.shape[ax])
        if b > a:
            parts.append(piece[_sl(piece.ndim, ax, slice(a, b))])
    return parts[0] if len(parts) == 1 else _concat(xp, parts, ax)


def _central(xp: Any, ext: Any, axis: int, h: Any, dx: Any, start: int, stop: int) -> Any:
    """Second-order central differences at ``ext`` positions ``start:stop``;
    ``dx[i]`` is the step from ``ext[i]`` to ``ext[i + 1]``."""
    nd = ext.ndim
    left = ext[_sl(nd, axis, slice(start - 1, stop - 1))]
    right = ext[_sl(nd, axis, slice(start + 1, stop + 1))]
    if dx is None:
        return (right - left) / (2.0 * h)
    dx1 = dx[start - 1 : stop - 1]
    dx2 = dx[start:stop]
    a = -(dx2) / (dx1 * (dx1 + dx2))
    b = (dx2 - dx1) / (dx1 * dx2)
    c = dx1 / (dx2 * (dx1 + dx2))
    shape = [1] * nd
    shape[axis] = -1
    a, b, c = (xp.reshape(v, tuple(shape)) for v in (a, b, c))
    mid = ext[_sl(nd, axis, slice(start, stop))]
    return a * left + b * mid + c * right


def _edge(ext: Any, axis: int, h: Any, dx: Any, edge_order: int, side: int) -> Any:
    """NumPy's one-sided difference at the first (``side=0``) or last (``-1``) point."""
    nd = ext.ndim

    def at(i: int) -> Any:
        return ext[_sl(nd, axis, i)]

    if edge_order == 1:
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


def _point(xp: Any, f: Any, spec: AxisSpec, e: int, length: int) -> Any:
    """The derivative at position ``e`` of ``lo + f + hi`` (length ``length``),
    from a window of at most three planes."""
    ax, eo, h = spec.axis, spec.edge_order, spec.h
    if e == 0 or e == length - 1:
        width = 2 if eo == 1 else 3
        a = 0 if e == 0 else length - width
        win = _window(xp, f, spec, a, a + width)
        dx = None if spec.dx is None else spec.dx[a : a + width - 1]
        return _edge(win, ax, h, dx, eo, 0 if e == 0 else -1)
    win = _window(xp, f, spec, e - 1, e + 2)
    dx = None if spec.dx is None else spec.dx[e - 1 : e + 1]
    return _central(xp, win, ax, h, dx, 1, 2)[_sl(f.ndim, ax, 0)]


def axis_derivative(xp: Any, f: Any, spec: AxisSpec, out: Any) -> Any:
    """Write the derivative of block ``f`` along ``spec.axis`` into ``out``.

    ``out`` has ``f``'s shape. Points with a neighbour on both sides (in the block
    or in a face) get the central difference; a side without a face is a domain
    edge and gets the one-sided difference. The block's interior is computed from
    the block itself (no halo copy); only its first and last planes read faces.

    Examples
    --------
    >>> import numpy as np
    >>> from daskgrad.kernels import AxisSpec
    >>> f = np.array([1.0, 2.0, 4.0, 7.0, 11.0])
    >>> out = np.empty_like(f)
    >>> axis_derivative(np, f, AxisSpec(axis=0, edge_order=1, h=1.0), out)
    array([1. , 1.5, 2.5, 3.5, 4. ])
    """
    ax, nd = spec.axis, f.ndim
    n_lo, n = face_len(spec.lo, ax), f.shape[ax]
    length = n_lo + n + face_len(spec.hi, ax)
    if n > 2:
        dx = None if spec.dx is None else spec.dx[n_lo : n_lo + n - 1]
        out[_sl(nd, ax, slice(1, n - 1))] = _central(xp, f, ax, spec.h, dx, 1, n - 1)
    for p in sorted({0, n - 1}):
        out[_sl(nd, ax, p)] = _point(xp, f, spec, n_lo + p, length)
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
