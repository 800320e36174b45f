"""Coordinate differences of one axis, as the kernels take them.

Shared by the in-memory path and by the tasks of the chunked path, so that a
block sees exactly the differences NumPy computes for the whole axis.
"""

from __future__ import annotations

from typing import Any

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


def axis_spacing(
    xp: Any, x: Any, *, periodic: bool, period: Any, force_dx: bool
) -> tuple[Any, Any]:
    """``(h, None)`` for the uniform formula or ``(None, dx)`` for the non-uniform one.

    ``dx`` is ``diff(x)``, with the seam step added at both ends on a periodic axis
    (so that it covers the wrap-around neighbours). As in ``numpy.gradient``, when
    every difference is exactly equal the uniform formula is used with ``h = dx[0]``,
    unless ``force_dx`` (``torch.gradient`` semantics for coordinate tensors).

    Examples
    --------
    >>> import numpy as np
    >>> axis_spacing(np, np.array([0.0, 2.0, 4.0]), periodic=False, period=None, force_dx=False)
    (np.float64(2.0), None)
    >>> axis_spacing(np, np.array([0.0, 1.0, 3.0]), periodic=False, period=None, force_dx=False)
    (None, array([1., 2.]))
    """
    dx = x[1:] - x[:-1]
    if periodic:
        s = xp.reshape(seam(x, period), (1,))
        concat = getattr(xp, "concat", None) or xp.concatenate
        dx = concat([s, dx, s])
    if not force_dx and dx.shape[0] > 0 and bool(xp.all(dx == dx[0])):
        return dx[0], None
    return None, dx
