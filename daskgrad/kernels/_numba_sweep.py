"""The jitted loops of the fused kernel (the contract is in ``_numba.py``).

One function, ``_sweep``, visits every row of the block once and writes that row of
every requested partial. A row is ``L`` contiguous input values; the input is seen
as one flat 1-D view plus each leading axis's stride, so a strided block (a view
into a bigger array, as ``da.from_array`` hands out) is read in place. Rows are
split into ``nblocks`` contiguous ranges (a ``prange`` when compiled with
``parallel=True``); inside a range an odometer over the leading axes gives each
row's input offset and its index along every axis, without divisions. The common
cases (both neighbours inside the block; the ends of a row of 3+ points) are
straight-line loops: calling a jitted function that takes many arrays costs ~100 ns
per call here (reference counting), more than a 128-point row's work. The rare
cases (a neighbour in a face, a domain edge, rows of 1-2 points) go through the
general helpers below.

Arithmetic is NumPy's, in NumPy's order: ``fpar`` and ``cen`` hold the
coefficients in the *compute dtype* (NumPy's result dtype of data and spacing), so
``(x - y) / d`` and ``a*x + b*y + c*z`` promote exactly as NumPy's expressions do.

Compiled once per machine, not once per process: every function is jitted with
numba's on-disk cache (``cache=True``: ``__pycache__`` beside this file, or numba's
user-wide cache directory when the package is installed read-only; numba writes
each entry to a temporary file and renames it, so concurrent processes -- the
workers of a cluster -- are safe, and a changed source file invalidates its
entries). The flag functions are declared to numba by symbol name
(``ExternalFunction``), not as ctypes pointers, because a function that holds a
ctypes pointer cannot be cached. Where no cache location is writable at all, the
functions compile per process, as before.
"""

from __future__ import annotations

import types
from typing import Any

import numba  # noqa: TID253 - imported only through daskgrad.kernels._numba
import numpy as np

from . import _fpe

# Integer parameters per spec (ipar columns) and float parameters (fpar columns).
_S, _N, _MLO, _MHI, _EO1, _C32, _UNI, _LOFF, _HOFF, _ISROW, _RCP, _SIN, _AXIS = range(13)
_D, _E0, _E1, _A0, _B0, _C0, _A1, _B1, _C1, _RD = range(10)
N_IPAR, N_FPAR = 13, 10


def _jit(**options: Any) -> Any:
    """``numba.njit(cache=True, **options)``, or without the cache where numba finds no
    writable place for it (it raises RuntimeError when the function is decorated)."""

    def decorate(fn: Any) -> Any:
        try:
            return numba.njit(cache=True, error_model="numpy", nogil=True, **options)(fn)
        except RuntimeError:  # "cannot cache function ...: no locator available"
            return numba.njit(error_model="numpy", nogil=True, **options)(fn)

    return decorate


_njit = _jit()
_inline = _jit(inline="always")
_FE_ALL = _fpe.FE_ALL

if _fpe.AVAILABLE:
    import llvmlite.binding  # noqa: TID253 - comes with numba

    llvmlite.binding.load_library_permanently(_fpe.LIBM)  # the symbols, for the JIT linker
    _flag_signature = numba.types.int32(numba.types.int32)
    # Any: numba's stubs type the ExternalFunction as a Type, not callable with an int
    _fe_clear: Any = numba.types.ExternalFunction("feclearexcept", _flag_signature)
    _fe_test: Any = numba.types.ExternalFunction("fetestexcept", _flag_signature)
else:

    @_njit
    def _fe_clear(mask: int) -> int:
        return 0

    @_njit
    def _fe_test(mask: int) -> int:
        return 0


@_njit
def fpe_probe(x: Any, y: Any) -> Any:
    """The flags raised by ``x / y`` (elementwise), one int per element: a check of
    the flag constants (``1 / 0``: divide by zero; ``0 / 0``: invalid)."""
    out = np.zeros(x.shape[0], np.int64)
    q = np.empty(x.shape[0])
    for i in range(x.shape[0]):
        _fe_clear(_FE_ALL)
        q[i] = x[i] / y[i]  # stored before the call, so computed before it
        out[i] = _fe_test(_FE_ALL)
        _fe_clear(_FE_ALL)
    return out


# ----------------------------------------------------------------------------------
# General helpers (faces, domain edges, rows of 1-2 points): 1-D views, flags.
# ----------------------------------------------------------------------------------


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
def _ext_row(flat: Any, off: int, faces: Any, r: int, c: int, e: int, ip: Any) -> Any:
    """Row ``r``'s neighbour at extended position ``e`` (lo face + block + hi face)."""
    s, n, mlo = ip[_S], ip[_N], ip[_MLO]
    if mlo <= e < mlo + n:
        o = off + (e - mlo - c) * ip[_SIN]
        return flat[o : o + faces.shape[1]]
    if e < mlo:
        base, p, m = ip[_LOFF], e, mlo
    else:
        base, p, m = ip[_HOFF], e - mlo - n, ip[_MHI]
    return faces[base + ((r // (s * n)) * m + p) * s + r % s]


@_njit
def _outer_boundary(
    flat: Any, off: int, faces: Any, r: int, c: int, ip: Any, fp: Any, cen: Any, out: Any
) -> None:
    """The general case: a neighbour in a face, or a one-sided domain edge."""
    n, mlo = ip[_N], ip[_MLO]
    x = flat[off : off + faces.shape[1]]
    e = mlo + c
    last = mlo + n + ip[_MHI] - 1
    c32 = ip[_C32] != 0
    if 1 <= e <= last - 1:
        left = _ext_row(flat, off, faces, r, c, e - 1, ip)
        right = _ext_row(flat, off, faces, r, c, e + 1, ip)
        if ip[_UNI]:
            _diff(out, right, left, fp[_D], c32, ip[_RCP] != 0)
        else:
            _comb(out, left, x, right, cen[0, e], cen[1, e], cen[2, e], c32)
    elif e == 0:
        x1 = _ext_row(flat, off, faces, r, c, 1, ip)
        if ip[_EO1]:
            _diff(out, x1, x, fp[_E0], c32)
        else:
            x2 = _ext_row(flat, off, faces, r, c, 2, ip)
            _comb(out, x, x1, x2, fp[_A0], fp[_B0], fp[_C0], c32)
    else:
        x1 = _ext_row(flat, off, faces, r, c, last - 1, ip)
        if ip[_EO1]:
            _diff(out, x, x1, fp[_E1], c32)
        else:
            x0 = _ext_row(flat, off, faces, r, c, last - 2, ip)
            _comb(out, x0, x1, x, fp[_A1], fp[_B1], fp[_C1], c32)


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


# ----------------------------------------------------------------------------------
# The sweep and its straight-line common cases.
# ----------------------------------------------------------------------------------


@_inline
def _outer_fast(
    flat: Any,
    off: int,
    faces: Any,
    r: int,
    c: int,
    ipar: Any,
    fpar: Any,
    cen: Any,
    k: int,
    out2: Any,
) -> None:
    """Row ``r`` (input offset ``off``) of the partial along outer axis ``k``."""
    n, length = ipar[k, _N], out2.shape[1]
    if c < 1 or c > n - 2:
        _outer_boundary(flat, off, faces, r, c, ipar[k], fpar[k], cen[k], out2[r])
        return
    sin = ipar[k, _SIN]
    # unsigned offsets: numba then skips the negative-index wraparound test per element
    om, o0, op = np.uint64(off - sin), np.uint64(off), np.uint64(off + sin)
    if ipar[k, _UNI] and ipar[k, _RCP]:
        rd = fpar[k, _RD]
        for j in range(np.uint64(length)):
            out2[r, j] = (flat[op + j] - flat[om + j]) * rd
    elif ipar[k, _UNI]:
        d = fpar[k, _D]
        for j in range(np.uint64(length)):
            out2[r, j] = (flat[op + j] - flat[om + j]) / d
    else:
        e = ipar[k, _MLO] + c
        a, b, cc = cen[k, 0, e], cen[k, 1, e], cen[k, 2, e]
        for j in range(np.uint64(length)):
            out2[r, j] = a * flat[om + j] + b * flat[o0 + j] + cc * flat[op + j]


@_inline
def _row_interior(x: Any, ipar: Any, fpar: Any, cen: Any, k: int, mlo: int, out: Any) -> None:
    """Points ``1 .. n-2`` of one row along the row axis."""
    n = x.shape[0]
    if ipar[k, _UNI] and ipar[k, _RCP]:
        rd = fpar[k, _RD]
        for j in range(1, n - 1):
            out[j] = (x[j + 1] - x[j - 1]) * rd
    elif ipar[k, _UNI]:
        d = fpar[k, _D]
        for j in range(1, n - 1):
            out[j] = (x[j + 1] - x[j - 1]) / d
    else:
        for j in range(1, n - 1):
            e = mlo + j
            out[j] = cen[k, 0, e] * x[j - 1] + cen[k, 1, e] * x[j] + cen[k, 2, e] * x[j + 1]


@_inline
def _row_fast(
    flat: Any,
    off: int,
    lo_r: Any,
    hi_r: Any,
    r: int,
    ipar: Any,
    fpar: Any,
    cen: Any,
    k: int,
    out2: Any,
) -> None:
    """Row ``r`` (input offset ``off``) of the partial along the row axis (spec ``k``)."""
    n, mlo, mhi = out2.shape[1], lo_r.shape[1], hi_r.shape[1]
    x, out = flat[off : off + n], out2[r]
    if n < 3:
        lo, hi = lo_r[r], hi_r[r]
        out[0] = _row_point(x, lo, hi, 0, ipar[k], fpar[k], cen[k])
        if n > 1:
            out[n - 1] = _row_point(x, lo, hi, n - 1, ipar[k], fpar[k], cen[k])
        return
    _row_interior(x, ipar, fpar, cen, k, mlo, out)
    uni = ipar[k, _UNI] != 0
    if mlo > 0:
        left = lo_r[r, mlo - 1]
        if uni:
            out[0] = (x[1] - left) / fpar[k, _D]
        else:
            out[0] = cen[k, 0, mlo] * left + cen[k, 1, mlo] * x[0] + cen[k, 2, mlo] * x[1]
    elif ipar[k, _EO1]:
        out[0] = (x[1] - x[0]) / fpar[k, _E0]
    else:
        out[0] = fpar[k, _A0] * x[0] + fpar[k, _B0] * x[1] + fpar[k, _C0] * x[2]
    e = mlo + n - 1
    if mhi > 0:
        right = hi_r[r, 0]
        if uni:
            out[n - 1] = (right - x[n - 2]) / fpar[k, _D]
        else:
            out[n - 1] = cen[k, 0, e] * x[n - 2] + cen[k, 1, e] * x[n - 1] + cen[k, 2, e] * right
    elif ipar[k, _EO1]:
        out[n - 1] = (x[n - 1] - x[n - 2]) / fpar[k, _E1]
    else:
        out[n - 1] = fpar[k, _A1] * x[n - 3] + fpar[k, _B1] * x[n - 2] + fpar[k, _C1] * x[n - 1]


def _sweep(
    flat: Any,
    faces: Any,
    lo_r: Any,
    hi_r: Any,
    ipar: Any,
    fpar: Any,
    cen: Any,
    outs: Any,
    lshape: Any,
    lstride: Any,
    nblocks: int,
    status: Any,
) -> None:
    """The one sweep: every row once, every requested partial per row.

    Rows are numbered in C order over the ``lshape`` leading axes; the input row of
    index ``idx`` starts at ``flat[sum(idx * lstride)]`` (any strides: a strided
    view is read in place), the output rows are packed. ``status[blk]`` receives the
    floating-point exception flags that block ``blk`` raised (see ``_fpe.py``).
    """
    m_rows, n_specs, nlead = outs[0].shape[0], ipar.shape[0], lshape.shape[0]
    for blk in numba.prange(nblocks):
        _fe_clear(_FE_ALL)
        r0, r1 = blk * m_rows // nblocks, (blk + 1) * m_rows // nblocks
        idx = np.zeros(max(nlead, 1), np.int64)  # odometer over the leading axes
        rem, off = r0, 0
        for a in range(nlead - 1, -1, -1):
            idx[a] = rem % lshape[a]
            rem //= lshape[a]
            off += idx[a] * lstride[a]
        for r in range(r0, r1):
            for k in range(n_specs):
                if ipar[k, _ISROW]:
                    _row_fast(flat, off, lo_r, hi_r, r, ipar, fpar, cen, k, outs[k])
                else:
                    c = idx[ipar[k, _AXIS]]
                    _outer_fast(flat, off, faces, r, c, ipar, fpar, cen, k, outs[k])
            a = nlead - 1
            while a >= 0:
                idx[a] += 1
                off += lstride[a]
                if idx[a] < lshape[a]:
                    break
                off -= lshape[a] * lstride[a]
                idx[a] = 0
                a -= 1
        status[blk] = _fe_test(_FE_ALL)
        _fe_clear(_FE_ALL)


def _named(fn: Any, name: str) -> Any:
    """A copy of ``fn`` under another qualified name.

    numba's cache keys an entry by the function's module, qualified name and line,
    its bytecode and the argument types -- not by the jit options. The serial and
    the ``parallel=True`` sweep must not be the same function: the one compiled
    first would be loaded by the other (parallel code in Dask worker threads, or a
    serial "parallel" sweep).

    Examples
    --------
    >>> _named(_sweep, "_sweep_parallel").__qualname__
    '_sweep_parallel'
    """
    copy = types.FunctionType(fn.__code__, fn.__globals__, name, fn.__defaults__, fn.__closure__)
    copy.__qualname__ = name
    copy.__doc__ = fn.__doc__
    return copy


sweep_serial = _jit()(_sweep)
sweep_parallel = _jit(parallel=True)(_named(_sweep, "_sweep_parallel"))
