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
NumPy would: the coefficients are stored in NumPy's result dtype of data and
spacing (float32 data with a weak or float32 spacing is computed in float32;
otherwise in float64, then cast to the output dtype). A block whose axes would
need different compute dtypes (float32 data, a Python-float step on one axis and
float64 coordinates on another) is left to the reference. No fastmath, no
contraction, ``error_model="numpy"`` (IEEE inf/nan, never an exception). The loops
themselves are in ``_numba_sweep.py``.

Floating-point warnings: the sweep reads the CPU's exception flags per block of
rows (``_fpe.py``); if one that ``np.errstate`` does not ignore went up (overflow,
divide by zero, invalid; underflow when asked for), the block is declined after the
fact and the reference recomputes it, warning or raising as ``numpy.gradient`` does.

Threads: ``parallel=True`` runs the rows in a numba ``prange`` but only from the
main thread: numba's workqueue layer aborts the process when entered from
several threads (numba#9288), so any other thread (a Dask worker) gets the
serial version. Compiled lazily on first call, once per machine: numba's on-disk
cache (see ``_numba_sweep.py``).
"""

from __future__ import annotations

import threading
from typing import Any

import numba
import numpy as np

from . import _fpe
from ._layout import c_layout, flat_view, pack_faces, readonly, rows
from ._numba_sweep import (
    _A0,
    _A1,
    _AXIS,
    _C0,
    _C1,
    _C32,
    _D,
    _E0,
    _E1,
    _EO1,
    _MHI,
    _MLO,
    _N,
    _RCP,
    _RD,
    _SIN,
    _UNI,
    N_FPAR,
    N_IPAR,
    fpe_probe,
    sweep_parallel,
    sweep_serial,
)
from ._spec import AxisSpec, face_len

__all__ = ["gradient_block", "supports", "try_gradient_block"]

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_PARALLEL_MIN_SIZE = 1 << 16  # smaller blocks: thread start-up costs more than it saves
_PAD_OUTPUTS = 4  # outputs travel as a fixed-size tuple: one compilation for 1-4 axes
_BLOCKS_PER_THREAD = 4

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
    fpar = np.ones(N_FPAR)
    cen = np.zeros((3, ext if spec.dx is not None else 1))
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
    ipar = np.zeros(N_IPAR, dtype=np.int64)
    ipar[[_N, _MLO, _MHI, _EO1, _C32, _UNI]] = (
        n,
        mlo,
        mhi,
        eo1,
        ctype == np.float32,
        spec.dx is None,
    )
    ipar[_RCP] = spec.dx is None and stop > start and _exact_reciprocal(fpar[_D], ctype)
    fpar, cen = fpar.astype(ctype), cen.astype(ctype)  # NumPy's cast of each coefficient
    if ipar[_RCP]:
        fpar[_RD] = ctype.type(1) / fpar[_D]
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
    if len({p[1].dtype for p in params}) != 1:
        return None  # axes computed in different dtypes: one sweep can't (see module doc)
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
    out = try_gradient_block(f, specs, dtype, parallel=parallel)
    if out is None:
        raise ValueError("the numba kernel does not support this block; check supports()")
    return out


def try_gradient_block(
    f: Any, specs: tuple[AxisSpec, ...], dtype: Any, *, parallel: bool = False
) -> tuple[Any, ...] | None:
    """:func:`gradient_block`, or None where it is not supported (one validation
    pass instead of ``supports`` followed by ``gradient_block``).

    Examples
    --------
    >>> import numpy as np
    >>> try_gradient_block(np.zeros(3, dtype=complex), (AxisSpec(0, 1, h=1.0),), complex)
    >>> try_gradient_block(np.arange(3.0), (AxisSpec(0, 1, h=1.0),), np.float64)[0]
    array([1., 1., 1.])
    """
    params = _plan(f, specs, dtype)
    if params is None:
        return None
    f, specs, transposed = c_layout(f, specs)
    m_rows, length, lead = rows(f, [s.axis for s in specs])
    view = flat_view(f, lead, length)
    if view is None:
        f = np.ascontiguousarray(f)
        view = flat_view(f, lead, length)
    flat, lstride = view
    ipar = np.stack([p[0] for p in params])
    fpar = np.stack([p[1] for p in params])
    width = max(p[2].shape[1] for p in params)
    cen = np.zeros((len(specs), 3, width), fpar.dtype)
    for k, p in enumerate(params):
        cen[k, :, : p[2].shape[1]] = p[2]
    faces, lo_r, hi_r = pack_faces(f, specs, ipar, m_rows, length, lead)
    outs = [np.empty(f.shape, dtype) for _ in specs]
    pad = [np.empty((0, 0), dtype)] * max(0, _PAD_OUTPUTS - len(outs))
    out2 = tuple(o.reshape(m_rows, length) for o in outs) + tuple(pad)
    threaded = (
        parallel
        and f.size >= _PARALLEL_MIN_SIZE
        and threading.current_thread() is threading.main_thread()
    )
    sweep, nblocks = sweep_serial, 1
    if threaded:
        sweep, nblocks = sweep_parallel, min(m_rows, numba.get_num_threads() * _BLOCKS_PER_THREAD)
    for k, spec in enumerate(specs):
        if spec.axis < lead:
            ipar[k, _SIN], ipar[k, _AXIS] = lstride[spec.axis], spec.axis
    lshape = np.array(f.shape[:lead], dtype=np.int64)
    status = np.zeros(nblocks, np.int32)
    ro = readonly
    args = (flat, ro(faces), ro(lo_r), ro(hi_r), ipar, fpar, cen, out2, lshape, lstride)
    sweep(*args, nblocks, status)
    if _needs_numpy(status, outs):
        return None  # the reference recomputes it: NumPy's warnings, per np.errstate
    return tuple(o.T for o in outs) if transposed else tuple(outs)


def _fpe_works() -> bool:
    """Whether the flag constants are right on this CPU (checked once, then cached)."""
    global _FPE_CHECKED
    if _FPE_CHECKED is None:
        one, zero = np.array([1.0, 0.0, 1.0]), np.array([0.0, 0.0, 2.0])
        got = fpe_probe(one, zero).tolist() if _fpe.AVAILABLE else []
        _FPE_CHECKED = got == [_fpe.FE_DIVBYZERO, _fpe.FE_INVALID, 0]
        if not _FPE_CHECKED:
            _fpe.disable()
    return _FPE_CHECKED


_FPE_CHECKED: bool | None = None


def _needs_numpy(status: Any, outs: list[Any]) -> bool:
    """Whether a flag that ``np.errstate`` does not ignore went up in the sweep.

    Without usable flags (see ``_fpe.py``): whether an output is not finite while
    the caller would hear of over/divide/invalid (slower, but never silent).
    """
    report = _fpe.flags_to_report()
    if not report:
        return False
    if _fpe_works():
        return bool(np.bitwise_or.reduce(status) & report)
    if not report & (_fpe.FE_INVALID | _fpe.FE_DIVBYZERO | _fpe.FE_OVERFLOW):
        return False
    return not all(np.isfinite(o).all() for o in outs)
