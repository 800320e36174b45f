"""Coordinate differences of one axis, as the kernels take them.

Shared by the in-memory path and by the tasks of the chunked path, so that a
block sees exactly the differences NumPy computes for the whole axis.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["axis_spacing", "seam"]


def seam(x: Any, period: Any) -> Any:
    """The step across the periodic seam, from ``x[-1]`` to ``x[0]`` one period on.

    ``x[0] + period - x[-1]`` for increasing coordinates, ``x[0] - period - x[-1]``
    for decreasing ones.

    Examples
    --------
    >>> import numpy as np
    >>> float(seam(np.arange(0.0, 360.0, 90.0), 360.0))
    90.0
    >>> float(seam(np.array([270.0, 180.0, 90.0, 0.0]), 360.0))
    -90.0
    >>> seam(np.arange(5.0), 2.0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: period: 2.0 is not longer than the span of the coordinates (0.0 .. 4.0); ...
    """
    increasing = bool(x[-1] >= x[0])
    s = (x[0] + (period if increasing else -period)) - x[-1]
    if not bool(s > 0 if increasing else s < 0):
        raise ValueError(
            f"period: {period} is not longer than the span of the coordinates "
            f"({x[0]} .. {x[-1]}); the step across the seam would be {s}"
        )
    return s


def _is_complex(xp: Any, a: Any) -> bool:
    isdtype = getattr(xp, "isdtype", None)
    if isdtype is not None:
        return bool(isdtype(a.dtype, "complex floating"))
    return np.dtype(a.dtype).kind == "c"


def _rolled(xp: Any, x: Any, dx: Any, period: Any) -> Any:
    """``dx`` with the seam at both ends for a *rolled* periodic coordinate, or None.

    Rolled: monotonic around the circle but stored starting mid-way, e.g. longitudes
    ``180, 210, ..., 330, 0, 30, ..., 150``: every step has one sign except the
    single jump back (``330 -> 0``), and the ends are in the "wrong" order. The jump
    is one period on, ``(x[i+1] + period) - x[i]``, and the seam is just
    ``x[0] - x[-1]``: the points' neighbours on the circle, so the result equals the
    sorted grid's at the same points.
    """
    n = dx.shape[0]
    if n < 2 or _is_complex(xp, dx):
        return None
    pos, neg = int(xp.count_nonzero(dx > 0)), int(xp.count_nonzero(dx < 0))
    if neg == 1 and pos == n - 1 and bool(x[0] > x[-1]):
        i, sign = int(xp.argmin(dx)), 1
    elif pos == 1 and neg == n - 1 and bool(x[0] < x[-1]):
        i, sign = int(xp.argmax(dx)), -1
    else:
        return None
    jump = (x[i + 1] + (period if sign > 0 else -period)) - x[i]
    if not bool(jump * sign > 0):
        raise ValueError(
            f"period: {period} is too short for the coordinates, which jump from {x[i]} to "
            f"{x[i + 1]} (a rolled periodic axis needs a jump shorter than the period)"
        )
    s = xp.reshape(x[0] - x[-1], (1,))
    concat = getattr(xp, "concat", None) or xp.concatenate
    return concat([s, dx[:i], xp.reshape(jump, (1,)), dx[i + 1 :], s])


def axis_spacing(
    xp: Any, x: Any, *, periodic: bool, period: Any, force_dx: bool, depth: int = 1
) -> tuple[Any, Any]:
    """``(h, None)`` for the uniform formula or ``(None, dx)`` for the non-uniform one.

    ``dx`` is ``diff(x)``, with the seam step added at both ends on a periodic axis
    (so that it covers the wrap-around neighbours). A periodic coordinate stored
    rolled (``180 .. 330, 0 .. 150`` with period 360) steps one period on across its
    single jump back, and its seam is ``x[0] - x[-1]``. As in ``numpy.gradient``, when
    every difference is exactly equal the uniform formula is used with ``h = dx[0]``,
    unless ``force_dx`` (``torch.gradient`` semantics for coordinate tensors).

    ``depth`` is how many points a periodic axis is extended by on each side (2 for
    ``nan_policy="omit"`` with ``edge_order=2``): ``dx`` then has ``n + 2 depth - 1``
    steps, the axis's cyclic steps repeated around the circle (as many times as it
    takes when the axis is shorter than ``depth``). The uniform decision is the same.

    Examples
    --------
    >>> import numpy as np
    >>> axis_spacing(np, np.array([0.0, 2.0, 4.0]), periodic=False, period=None, force_dx=False)
    (np.float64(2.0), None)
    >>> axis_spacing(np, np.array([0.0, 1.0, 3.0]), periodic=False, period=None, force_dx=False)
    (None, array([1., 2.]))
    >>> lon = np.array([180.0, 270.0, 0.0, 90.0])  # rolled: 0, 90, 180, 270 on the circle
    >>> axis_spacing(np, lon, periodic=True, period=360.0, force_dx=False)
    (np.float64(90.0), None)
    """
    dx = x[1:] - x[:-1]
    if periodic:
        rolled = _rolled(xp, x, dx, period)
        if rolled is not None:
            dx = rolled
        else:
            s = xp.reshape(seam(x, period), (1,))
            concat = getattr(xp, "concat", None) or xp.concatenate
            dx = concat([s, dx, s])
    if not force_dx and dx.shape[0] > 0 and bool(xp.all(dx == dx[0])):
        return dx[0], None
    if periodic and depth > 1:
        n = x.shape[0]
        steps = dx[:-1]  # steps[k]: the step into point k around the circle
        index = np.arange(1 - depth, n + depth) % n
        dx = xp.take(steps, xp.asarray(index), axis=0)
    return None, dx
