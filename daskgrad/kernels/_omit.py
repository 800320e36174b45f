"""``nan_policy="omit"``: NaN points are gaps, each run of valid points differentiated
on its own, exactly as ``numpy.gradient`` differentiates that run alone.

Along an axis, a point whose two neighbours are valid gets the central difference:
the value the ordinary stencil (``nan_policy="propagate"``) already computed there,
bit for bit. Only the points next to a gap or a domain edge need another formula,
and they are few (a coastline, not the ocean), so they are *fixed up* after the
ordinary kernel ran: their positions are gathered (``nonzero``), the one-sided
difference of the run's edge order is evaluated there with NumPy's expressions, and
scattered back. Missing points are set to NaN.

Per point ``i`` of a run (valid ``f[i]``), with ``vl1``/``vr1`` whether ``f[i-1]``/
``f[i+1]`` are valid and ``vl2``/``vr2`` the same two steps away:

- ``vl1 and vr1``: central difference (unchanged);
- neither: a run of one point, NaN;
- run start (``vr1`` only): second-order forward difference if ``edge_order=2`` and
  ``vr2`` (the run has 3+ points), else first-order;
- run end (``vl1`` only): likewise backwards with ``vl2``.

That is ``edge_order = min(edge_order, len(run) - 1)``: a run's length matters only
as 1, 2 or 3+, which is why a block needs ``edge_order`` planes from each neighbour.
The block is seen with its faces (``lo + block + hi``); the ends of that extended
block that are not domain edges only make the faces' own results wrong, and those are
not kept. Works on any NumPy-like namespace (NumPy, CuPy): ``isnan``, ``nonzero``,
``where``, fancy indexing.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._spec import AxisSpec, face_len

__all__ = ["check_no_nan", "omit_fixup"]


def check_no_nan(xp: Any, f: Any) -> None:
    """``nan_policy="raise"``: ValueError naming ``f`` if it holds a NaN anywhere."""
    if bool(xp.any(xp.isnan(f))):
        raise ValueError("f: contains NaN (nan_policy='raise'); use 'omit' or 'propagate'")


def _extended(xp: Any, f: Any, spec: AxisSpec) -> Any:
    parts = [p for p in (spec.lo, f, spec.hi) if p is not None]
    if len(parts) == 1:
        return f
    concat = getattr(xp, "concat", None) or xp.concatenate
    return concat(parts, axis=spec.axis)


def omit_fixup(xp: Any, f: Any, spec: AxisSpec, out: Any) -> Any:
    """Turn ``out``, the ``"propagate"`` derivative of block ``f`` along ``spec.axis``,
    into the ``"omit"`` one, in place (see the module docstring).

    ``spec`` is the one the ordinary kernel used: faces of up to ``edge_order``
    planes, ``dx`` over ``lo + f + hi``.

    Examples
    --------
    >>> import numpy as np
    >>> from daskgrad.kernels import AxisSpec, gradient_block
    >>> f = np.array([0.0, 1.0, 4.0, np.nan, 16.0, 25.0])
    >>> spec = AxisSpec(0, 1, h=1.0)
    >>> out = gradient_block(f, (spec,), f.dtype)[0]
    >>> omit_fixup(np, f, spec, out)
    array([ 1.,  2.,  3., nan,  9.,  9.])
    """
    ax = spec.axis
    ext = _extended(xp, f, spec)
    n_lo, n, length = face_len(spec.lo, ax), f.shape[ax], ext.shape[ax]
    valid = ~xp.isnan(ext)

    def at(index: Any) -> Any:
        key: list[Any] = [slice(None)] * ext.ndim
        key[ax] = index
        return tuple(key)

    block = at(slice(n_lo, n_lo + n))
    vl1 = xp.zeros_like(valid)
    vr1 = xp.zeros_like(valid)
    vl1[at(slice(1, None))] = valid[at(slice(None, -1))]
    vr1[at(slice(None, -1))] = valid[at(slice(1, None))]
    here = valid[block]
    fix = here & ~(vl1[block] & vr1[block])
    out[~here] = xp.nan
    idx = list(xp.nonzero(fix))
    if idx[0].shape[0] == 0:
        return out
    e = idx[ax] + n_lo  # positions in ext

    def gather(a: Any, k: int) -> Any:
        key = list(idx)
        key[ax] = xp.clip(e + k, 0, length - 1)
        return a[tuple(key)]

    start, end = ~gather(vl1, 0), ~gather(vr1, 0)
    longer_right = gather(valid, 2) & (e + 2 < length)
    longer_left = gather(valid, -2) & (e >= 2)
    # Every candidate formula is evaluated at every fix-up point and one is picked, so
    # NumPy's flags are not meaningful here; the ordinary kernel has already warned.
    with np.errstate(all="ignore"):
        values = _one_sided(xp, ext, spec, gather, e, start, end, longer_left, longer_right)
    out[tuple(idx)] = values
    return out


def _one_sided(
    xp: Any,
    ext: Any,
    spec: AxisSpec,
    gather: Any,
    e: Any,
    start: Any,
    end: Any,
    longer_left: Any,
    longer_right: Any,
) -> Any:
    """The run-edge derivative at each fix-up point, with NumPy's expressions."""
    fm2, fm1, f0, fp1, fp2 = (gather(ext, k) for k in (-2, -1, 0, 1, 2))
    h, eo2 = spec.h, spec.edge_order == 2
    if spec.dx is None:
        fwd1, bwd1 = (fp1 - f0) / h, (f0 - fm1) / h
        fwd2 = (-1.5 / h) * f0 + (2.0 / h) * fp1 + (-0.5 / h) * fp2
        bwd2 = (0.5 / h) * fm2 + (-2.0 / h) * fm1 + (1.5 / h) * f0
    else:
        m = spec.dx.shape[0]

        def step(k: int) -> Any:  # dx[e + k]: the step from ext[e + k] to ext[e + k + 1]
            return spec.dx[xp.clip(e + k, 0, m - 1)]

        fwd1, bwd1 = (fp1 - f0) / step(0), (f0 - fm1) / step(-1)
        d1, d2 = step(0), step(1)
        a = -(2.0 * d1 + d2) / (d1 * (d1 + d2))
        b = (d1 + d2) / (d1 * d2)
        c = -d1 / (d2 * (d1 + d2))
        fwd2 = a * f0 + b * fp1 + c * fp2
        d1, d2 = step(-2), step(-1)
        a = (d2) / (d1 * (d1 + d2))
        b = -(d2 + d1) / (d1 * d2)
        c = (2.0 * d2 + d1) / (d2 * (d1 + d2))
        bwd2 = a * fm2 + b * fm1 + c * f0
    forward = xp.where(longer_right, fwd2, fwd1) if eo2 else fwd1
    backward = xp.where(longer_left, bwd2, bwd1) if eo2 else bwd1
    return xp.where(start & end, xp.nan, xp.where(start, forward, backward))
