"""The fused CPU kernel: every requested partial of one block in ONE sweep (numba).

The block is seen as rows: ``L`` contiguous values (the last axis when it is
differentiated, else the trailing non-differentiated axes merged). Each row ``r``
is visited once; for every requested axis the kernel writes row ``r`` of that
axis's output from the rows ``r - s`` and ``r + s`` (``s`` = the axis's stride in
rows), taken from the block or from its faces, or, for the row axis itself, from
the neighbouring values in the row. The input is read about once from memory and
each output written once: the stencil's memory floor, up to cache misses.

Bit-identical to the reference (``_reference.py``, itself numpy.gradient's
formulas): the scalar and 1-D coefficients (``2.0 * h``, ``-1.5 / h``, NumPy's
non-uniform ``a, b, c``) are computed here in NumPy with the reference's own
expressions on the spacing object as given, and the kernel evaluates
``(f[i+1] - f[i-1]) / d`` and ``a*x + b*y + c*z`` in the same order and dtype
NumPy would (``c32``: float32 data with a weak or float32 spacing is computed in
float32; otherwise in float64, then cast to the output dtype). No fastmath, no
contraction, ``error_model="numpy"`` (IEEE inf/nan, never an exception).

Threads: ``parallel=True`` runs the rows in a numba ``prange`` but only from the
main thread: numba's workqueue layer aborts the process when entered from
several threads (numba#9288), so any other thread (a Dask worker) gets the
serial version. No ``cache=True`` (numba#4807); compiled lazily on first call.
"""

from __future__ import annotations

import threading
from typing import Any

import numba
import numpy as np

from ._spec import AxisSpec, face_len

__all__ = ["gradient_block", "supports"]

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_PARALLEL_MIN_SIZE = 1 << 16  # smaller blocks: thread start-up costs more than it saves
_PAD_OUTPUTS = 4  # outputs travel as a fixed-size tuple: one compilation for 1-4 axes

# Integer parameters per spec (ipar columns) and float parameters (fpar columns).
_S, _N, _MLO, _MHI, _EO1, _C32, _UNI, _LOFF, _HOFF, _ISROW, _RCP = range(11)
_D, _E0, _E1, _A0, _B0, _C0, _A1, _B1, _C1 = range(9)

_njit = numba.njit(error_model="numpy", nogil=True)


@_njit
def _diff(out: Any, x: Any, y: Any, d: float, c32: bool, rcp: bool = False) -> None:
    """``out[j] = (x[j] - y[j]) / d``; the difference in the data's dtype.

    ``rcp``: ``d`` is a power of two, so ``1/d`` is exact and ``t * (1/d)`` rounds the
    same real number as ``t / d``: the same bits, without the slow division.
    """
    if c32:
        d32 = np.float32(d)
        if rcp:
            r32 = np.float32(1.0) / d32
            for j in range(out.shape[0]):
                out[j] = (x[j] - y[j]) * r32
        else:
            for j in range(out.shape[0]):
                out[j] = (x[j] - y[j]) / d32
    elif rcp:
        r = 1.0 / d
        for j in range(out.shape[0]):
            out[j] = (x[j] - y[j]) * r
    else:
        for j in range(out.shape[0]):
            out[j] = (x[j] - y[j]) / d


@_njit
def _comb(out: Any, x: Any, y: Any, z: Any, a: float, b: float, c: float, c32: bool) -> None:
    """``out[j] = a*x[j] + b*y[j] + c*z[j]`` (NumPy's order: ``(ax + by) + cz``)."""
    if c32:
        a32, b32, c32_ = np.float32(a), np.float32(b), np.float32(c)
        for j in range(out.shape[0]):
            out[j] = a32 * x[j] + b32 * y[j] + c32_ * z[j]
    else:
        for j in range(out.shape[0]):
            out[j] = a * x[j] + b * y[j] + c * z[j]


@_njit
def _diff1(x: Any, y: Any, d: float, c32: bool) -> float:
    if c32:
        return (x - y) / np.float32(d)
    return (x - y) / d


@_njit
def _comb1(x: Any, y: Any, z: Any, a: float, b: float, c: float, c32: bool) -> float:
    if c32:
        return np.float32(a) * x + np.float32(b) * y + np.float32(c) * z
    return a * x + b * y + c * z


@_njit
def _ext_row(f2: Any, faces: Any, r: int, c: int, e: int, ip: Any) -> Any:
    """Row ``r``'s neighbour at extended position ``e`` (lo face + block + hi face)."""
    s, n, mlo = ip[_S], ip[_N], ip[_MLO]
    if mlo <= e < mlo + n:
        return f2[r + (e - mlo - c) * s]
    if e < mlo:
        base, p, m = ip[_LOFF], e, mlo
    else:
        base, p, m = ip[_HOFF], e - mlo - n, ip[_MHI]
    return faces[base + ((r // (s * n)) * m + p) * s + r % s]


@_njit
def _outer_axis(f2: Any, faces: Any, r: int, ip: Any, fp: Any, cen: Any, out: Any) -> None:
    """Row ``r`` of the derivative along an axis that strides over rows."""
    n, mlo = ip[_N], ip[_MLO]
    c = (r // ip[_S]) % n
    e = mlo + c
    last = mlo + n + ip[_MHI] - 1
    c32 = ip[_C32] != 0
    if 1 <= e <= last - 1:
        left = _ext_row(f2, faces, r, c, e - 1, ip)
        right = _ext_row(f2, faces, r, c, e + 1, ip)
        if ip[_UNI]:
            _diff(out, right, left, fp[_D], c32, ip[_RCP] != 0)
        else:
            _comb(out, left, f2[r], right, cen[0, e], cen[1, e], cen[2, e], c32)
    elif e == 0:
        x1 = _ext_row(f2, faces, r, c, 1, ip)
        if ip[_EO1]:
            _diff(out, x1, f2[r], fp[_E0], c32)
        else:
            x2 = _ext_row(f2, faces, r, c, 2, ip)
            _comb(out, f2[r], x1, x2, fp[_A0], fp[_B0], fp[_C0], c32)
    else:
        x1 = _ext_row(f2, faces, r, c, last - 1, ip)
        if ip[_EO1]:
            _diff(out, f2[r], x1, fp[_E1], c32)
        else:
            x0 = _ext_row(f2, faces, r, c, last - 2, ip)
            _comb(out, x0, x1, f2[r], fp[_A1], fp[_B1], fp[_C1], c32)


@_njit
def _at(x: Any, lo: Any, hi: Any, e: int) -> Any:
    mlo, n = lo.shape[0], x.shape[0]
    if e < mlo:
        return lo[e]
    if e < mlo + n:
        return x[e - mlo]
    return hi[e - mlo - n]


@_njit
def _row_point(x: Any, lo: Any, hi: Any, j: int, ip: Any, fp: Any, cen: Any) -> float:
    """The derivative at point ``j`` of a row along the row itself (the general case)."""
    mlo = lo.shape[0]
    e = mlo + j
    last = mlo + x.shape[0] + hi.shape[0] - 1
    c32 = ip[_C32] != 0
    if 1 <= e <= last - 1:
        left, right = _at(x, lo, hi, e - 1), _at(x, lo, hi, e + 1)
        if ip[_UNI]:
            return _diff1(right, left, fp[_D], c32)
        return _comb1(left, x[j], right, cen[0, e], cen[1, e], cen[2, e], c32)
    if e == 0:
        if ip[_EO1]:
            return _diff1(_at(x, lo, hi, 1), x[0], fp[_E0], c32)
        y, z = _at(x, lo, hi, 1), _at(x, lo, hi, 2)
        return _comb1(x[0], y, z, fp[_A0], fp[_B0], fp[_C0], c32)
    if ip[_EO1]:
        return _diff1(x[j], _at(x, lo, hi, last - 1), fp[_E1], c32)
    w, y = _at(x, lo, hi, last - 2), _at(x, lo, hi, last - 1)
    return _comb1(w, y, x[j], fp[_A1], fp[_B1], fp[_C1], c32)


@_njit
def _row_axis(x: Any, lo: Any, hi: Any, ip: Any, fp: Any, cen: Any, out: Any) -> None:
    """One row's derivative along the row: a vector loop inside, the general case at ends."""
    n = x.shape[0]
    c32 = ip[_C32] != 0
    if n > 2:
        if ip[_UNI]:
            _diff(out[1 : n - 1], x[2:], x[: n - 2], fp[_D], c32, ip[_RCP] != 0)
        else:
            a, b, c = cen[0, lo.shape[0] :], cen[1, lo.shape[0] :], cen[2, lo.shape[0] :]
            if c32:
                for j in range(1, n - 1):
                    out[j] = (
                        np.float32(a[j]) * x[j - 1]
                        + np.float32(b[j]) * x[j]
                        + np.float32(c[j]) * x[j + 1]
                    )
            else:
                for j in range(1, n - 1):
                    out[j] = a[j] * x[j - 1] + b[j] * x[j] + c[j] * x[j + 1]
    out[0] = _row_point(x, lo, hi, 0, ip, fp, cen)
    if n > 1:
        out[n - 1] = _row_point(x, lo, hi, n - 1, ip, fp, cen)


def _sweep(
    f2: Any, faces: Any, lo_r: Any, hi_r: Any, ipar: Any, fpar: Any, cen: Any, outs: Any
) -> None:
    """The one sweep: every row once, every requested axis per row."""
    for r in numba.prange(f2.shape[0]):
        for k in range(ipar.shape[0]):
            if ipar[k, _ISROW]:
                _row_axis(f2[r], lo_r[r], hi_r[r], ipar[k], fpar[k], cen[k], outs[k][r])
            else:
                _outer_axis(f2, faces, r, ipar[k], fpar[k], cen[k], outs[k][r])


_sweep_serial = numba.njit(error_model="numpy", nogil=True)(_sweep)
_sweep_parallel = numba.njit(error_model="numpy", nogil=True, parallel=True)(_sweep)


# ----------------------------------------------------------------------------------
# Python side: validation, NumPy's coefficients, layout, packing.
# ----------------------------------------------------------------------------------


def _real_scalar(h: Any) -> bool:
    if isinstance(h, (int, float)) and not isinstance(h, complex):
        return True
    if isinstance(h, (np.generic, np.ndarray)):
        return np.ndim(h) == 0 and h.dtype.kind in "biuf"
    return False


def _faces_ok(f: Any, spec: AxisSpec) -> bool:
    for face in (spec.lo, spec.hi):
        if face is None:
            continue
        if type(face) is not np.ndarray or face.dtype != f.dtype or face.ndim != f.ndim:
            return False
        other = [d for i, d in enumerate(face.shape) if i != spec.axis]
        if other != [d for i, d in enumerate(f.shape) if i != spec.axis]:
            return False
    return True


def _coefficients(fdtype: Any, spec: AxisSpec, n: int, mlo: int, mhi: int) -> Any:
    """``(ipar, fpar, cen)`` for one spec, or None when the kernel can't match NumPy.

    Each coefficient is computed with the reference's expression on the spacing as
    given (Python float, NumPy scalar or array), so it has NumPy's value and dtype.
    """
    ext = mlo + n + mhi
    start, stop = max(mlo, 1), min(mlo + n, ext - 1)
    eo1 = spec.edge_order == 1
    need_edge = mlo == 0 or mhi == 0
    if need_edge and ext < (2 if eo1 else 3):
        return None  # too few points: the reference raises NumPy's error
    fpar = np.ones(9)
    cen = np.zeros((3, ext))
    values: list[Any] = []
    with np.errstate(divide="raise", over="raise", invalid="raise"):
        try:
            if spec.dx is None:
                h = spec.h
                if not _real_scalar(h) or not np.isfinite(h) or h == 0:
                    return None
                if stop > start:
                    values.append(2.0 * h)
                    fpar[_D] = values[-1]
                if need_edge and eo1:
                    values.append(h)
                    fpar[_E0] = fpar[_E1] = h
                elif need_edge:
                    edges = (-1.5 / h, 2.0 / h, -0.5 / h, 0.5 / h, -2.0 / h, 1.5 / h)
                    values.extend(edges)
                    fpar[_A0 : _C1 + 1] = edges
            else:
                dx = spec.dx
                if type(dx) is not np.ndarray or dx.ndim != 1 or dx.dtype not in _FLOATS:
                    return None
                if dx.shape[0] != ext - 1:
                    return None
                if stop > start:
                    dx1, dx2 = dx[start - 1 : stop - 1], dx[start:stop]
                    abc = (
                        -(dx2) / (dx1 * (dx1 + dx2)),
                        (dx2 - dx1) / (dx1 * dx2),
                        dx1 / (dx2 * (dx1 + dx2)),
                    )
                    values.extend(abc)
                    cen[:, start:stop] = abc
                if mlo == 0 and eo1:
                    values.append(dx[0])
                    fpar[_E0] = dx[0]
                elif mlo == 0:
                    d1, d2 = dx[0], dx[1]
                    abc0 = (
                        -(2.0 * d1 + d2) / (d1 * (d1 + d2)),
                        (d1 + d2) / (d1 * d2),
                        -d1 / (d2 * (d1 + d2)),
                    )
                    values.extend(abc0)
                    fpar[_A0 : _C0 + 1] = abc0
                if mhi == 0 and eo1:
                    values.append(dx[-1])
                    fpar[_E1] = dx[-1]
                elif mhi == 0:
                    d1, d2 = dx[-2], dx[-1]
                    abc1 = (
                        (d2) / (d1 * (d1 + d2)),
                        -(d2 + d1) / (d1 * d2),
                        (2.0 * d2 + d1) / (d2 * (d1 + d2)),
                    )
                    values.extend(abc1)
                    fpar[_A1 : _C1 + 1] = abc1
        except (ArithmeticError, FloatingPointError):
            return None  # zero or overflowing spacing: let the reference warn as NumPy does
    ctypes = {np.result_type(fdtype, v) for v in values} or {np.dtype(fdtype)}
    if len(ctypes) != 1 or next(iter(ctypes)) not in _FLOATS:
        return None
    ctype = next(iter(ctypes))
    ipar = np.zeros(11, dtype=np.int64)
    ipar[[_N, _MLO, _MHI, _EO1, _C32, _UNI]] = (
        n,
        mlo,
        mhi,
        eo1,
        ctype == np.float32,
        spec.dx is None,
    )
    ipar[_RCP] = spec.dx is None and stop > start and _exact_reciprocal(fpar[_D], ctype)
    return ipar, fpar, cen


def _exact_reciprocal(d: float, ctype: Any) -> bool:
    """Whether ``d`` (in ``ctype``) is a power of two with a normal, finite ``1/d``."""
    with np.errstate(all="ignore"):
        dc = ctype.type(d)
        r = ctype.type(1) / dc
        finfo = np.finfo(ctype)
        return bool(abs(np.frexp(dc)[0]) == 0.5 and np.isfinite(r) and abs(r) >= finfo.tiny)


def _face_planes(spec: AxisSpec) -> tuple[int, int]:
    return face_len(spec.lo, spec.axis), face_len(spec.hi, spec.axis)


def _plan(f: Any, specs: tuple[AxisSpec, ...], dtype: Any) -> Any:
    """Validate and compute every spec's parameters; None if the kernel declines."""
    if type(f) is not np.ndarray or f.dtype not in _FLOATS or f.ndim == 0 or f.size == 0:
        return None
    if np.dtype(dtype) not in _FLOATS or not specs:
        return None
    axes = [s.axis for s in specs]
    if len(set(axes)) != len(axes) or not all(0 <= a < f.ndim for a in axes):
        return None
    params = []
    for spec in specs:
        if not _faces_ok(f, spec):
            return None
        mlo, mhi = _face_planes(spec)
        p = _coefficients(f.dtype, spec, f.shape[spec.axis], mlo, mhi)
        if p is None:
            return None
        params.append(p)
    return params


def supports(f: Any, specs: tuple[AxisSpec, ...], dtype: Any) -> bool:
    """Whether this kernel computes ``f``'s block bit for bit like the reference.

    True for NumPy float32/float64 blocks (faces and ``dx`` NumPy too) with real,
    non-zero spacing, distinct axes, and enough points for the edge stencil;
    everything else is left to the reference kernel.

    Examples
    --------
    >>> import numpy as np
    >>> supports(np.zeros((4, 5)), (AxisSpec(0, 1, h=1.0),), np.float64)
    True
    >>> supports(np.zeros(4, dtype=complex), (AxisSpec(0, 1, h=1.0),), complex)
    False
    """
    return _plan(f, specs, dtype) is not None


def _readonly(a: Any) -> Any:
    """A read-only view: every input has one numba type, whatever its flags."""
    v = a.view()
    v.flags.writeable = False
    return v


def _c_layout(f: Any, specs: tuple[AxisSpec, ...]) -> tuple[Any, tuple[AxisSpec, ...], bool]:
    """``f`` as a C-contiguous array: F-ordered input is transposed (no copy)."""
    if f.flags.c_contiguous:
        return f, specs, False
    if f.flags.f_contiguous:
        nd = f.ndim

        def flip(face: Any) -> Any:
            return None if face is None else face.T

        specs = tuple(
            AxisSpec(nd - 1 - s.axis, s.edge_order, s.h, s.dx, flip(s.lo), flip(s.hi))
            for s in specs
        )
        return f.T, specs, True
    return np.ascontiguousarray(f), specs, False


def _rows(f: Any, axes: list[int]) -> tuple[int, int, int]:
    """``(M, L, lead)``: rows, row length, and how many leading axes index rows."""
    nd = f.ndim
    lead = nd - 1 if nd - 1 in axes else max(axes) + 1
    length = int(np.prod(f.shape[lead:], dtype=np.int64))
    return f.size // length, length, lead


def _pack_faces(f, specs, ipar, m_rows, length, lead):  # noqa: ANN001, ANN202
    """Outer-axis faces in one (rows, L) buffer; the row axis's faces as (M, planes)."""
    empty_row = np.empty((m_rows, 0), f.dtype)
    lo_r = hi_r = empty_row
    chunks = []
    off = 0
    for k, spec in enumerate(specs):
        if spec.axis >= lead:
            lo_r = empty_row if spec.lo is None else spec.lo.reshape(m_rows, -1)
            hi_r = empty_row if spec.hi is None else spec.hi.reshape(m_rows, -1)
            ipar[k, _ISROW] = 1
            continue
        ipar[k, _S] = int(np.prod(f.shape[spec.axis + 1 : lead], dtype=np.int64))
        for col, face in ((_LOFF, spec.lo), (_HOFF, spec.hi)):
            if face is not None:
                ipar[k, col] = off
                chunks.append((off, face))
                off += face.size // length
    faces = np.empty((off, length), f.dtype)
    for start, face in chunks:
        rows = face.size // length
        np.copyto(faces[start : start + rows].reshape(face.shape), face)
    lo_r, hi_r = np.ascontiguousarray(lo_r), np.ascontiguousarray(hi_r)
    return faces, lo_r, hi_r


def gradient_block(
    f: Any, specs: tuple[AxisSpec, ...], dtype: Any, *, parallel: bool = False
) -> tuple[Any, ...]:
    """All partial derivatives of block ``f`` in one sweep, one fresh array per spec.

    Same contract and bits as ``daskgrad.kernels.reference_gradient_block``; call
    only when ``supports(f, specs, dtype)``. ``parallel=True`` threads the sweep
    when called from the main thread (ignored elsewhere, e.g. in Dask tasks).

    Examples
    --------
    >>> import numpy as np
    >>> f = np.array([[1.0, 2.0, 6.0], [3.0, 4.0, 5.0]])
    >>> specs = (AxisSpec(0, 1, h=1.0), AxisSpec(1, 1, h=1.0))
    >>> [g.tolist() for g in gradient_block(f, specs, f.dtype)]
    [[[2.0, 2.0, -1.0], [2.0, 2.0, -1.0]], [[1.0, 2.5, 4.0], [1.0, 1.0, 1.0]]]
    """
    params = _plan(f, specs, dtype)
    if params is None:
        raise ValueError("the numba kernel does not support this block; check supports()")
    f, specs, transposed = _c_layout(f, specs)
    m_rows, length, lead = _rows(f, [s.axis for s in specs])
    ipar = np.stack([p[0] for p in params])
    fpar = np.stack([p[1] for p in params])
    width = max(p[2].shape[1] for p in params)
    cen = np.zeros((len(specs), 3, width))
    for k, p in enumerate(params):
        cen[k, :, : p[2].shape[1]] = p[2]
    faces, lo_r, hi_r = _pack_faces(f, specs, ipar, m_rows, length, lead)
    outs = [np.empty(f.shape, dtype) for _ in specs]
    pad = [np.empty((0, 0), dtype)] * max(0, _PAD_OUTPUTS - len(outs))
    out2 = tuple(o.reshape(m_rows, length) for o in outs) + tuple(pad)
    threaded = (
        parallel
        and f.size >= _PARALLEL_MIN_SIZE
        and threading.current_thread() is threading.main_thread()
    )
    sweep = _sweep_parallel if threaded else _sweep_serial
    ro = _readonly
    sweep(ro(f.reshape(m_rows, length)), ro(faces), ro(lo_r), ro(hi_r), ipar, fpar, cen, out2)
    return tuple(o.T for o in outs) if transposed else tuple(outs)
