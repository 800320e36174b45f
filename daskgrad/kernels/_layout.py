"""Memory layout of a block for the fused kernel: rows, a flat view, packed faces.

Python side (nothing here is jitted): the fused kernel (``_numba.py``) sees a block as ``M`` rows
of ``L`` contiguous values, read in place through one flat 1-D view, with the faces
of the outer axes packed into one ``(rows, L)`` buffer.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._numba_sweep import _HOFF, _ISROW, _LOFF, _S
from ._spec import AxisSpec

__all__ = ["c_layout", "flat_view", "pack_faces", "readonly", "rows"]


def readonly(a: Any) -> Any:
    """A read-only view: every input has one numba type, whatever its flags."""
    v = a.view()
    v.flags.writeable = False
    return v


def c_layout(f: Any, specs: tuple[AxisSpec, ...]) -> tuple[Any, tuple[AxisSpec, ...], bool]:
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
    return f, specs, False


def flat_view(f: Any, lead: int, length: int) -> Any:
    """``(flat, strides)``: ``f``'s memory as one 1-D view and its leading strides.

    Row ``idx`` of ``f`` (an index over the ``lead`` leading axes) is
    ``flat[o : o + length]`` with ``o = sum(idx * strides)``, so a strided view (a
    Dask block of ``da.from_array``) is read in place. None when the trailing axes
    are not contiguous or a stride is negative (then the caller copies).
    """
    item, step = f.itemsize, f.itemsize
    for a in range(f.ndim - 1, lead - 1, -1):
        if f.shape[a] != 1 and f.strides[a] != step:
            return None
        step *= f.shape[a]
    strides = []
    for a in range(lead):
        st = f.strides[a] if f.shape[a] > 1 else 0
        if st < 0 or st % item:
            return None
        strides.append(st // item)
    span = sum((n - 1) * st for n, st in zip(f.shape[:lead], strides, strict=True)) + length
    flat = np.lib.stride_tricks.as_strided(f, shape=(span,), strides=(item,), writeable=False)
    return flat, np.array(strides, dtype=np.int64)


def rows(f: Any, axes: list[int]) -> tuple[int, int, int]:
    """``(M, L, lead)``: rows, row length, and how many leading axes index rows."""
    nd = f.ndim
    lead = nd - 1 if nd - 1 in axes else max(axes) + 1
    length = int(np.prod(f.shape[lead:], dtype=np.int64))
    return f.size // length, length, lead


def pack_faces(f, specs, ipar, m_rows, length, lead):  # noqa: ANN001, ANN202
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
