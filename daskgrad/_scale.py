"""Factors multiplied into a derivative where it is computed (geographic metrics).

The metric of a geographic axis (``180 / (pi R)`` for latitude, ``180 / (pi R cos
phi)`` for longitude, :mod:`daskgrad._geo`) is applied to each partial derivative in
the task that computes it, in place: no extra task per chunk in a Dask graph, no
temporary array in memory. ``out *= factor`` rounds exactly as ``out * factor``, so
the values are those of multiplying afterwards.
"""

from __future__ import annotations

from typing import Any

__all__ = ["apply_scale", "scale_segment"]


def scale_segment(scale: Any, scale_axis: int | None, start: int, stop: int) -> Any:
    """The part of ``scale`` that a block spanning ``start:stop`` along ``scale_axis``
    needs (the scalar itself when there is no axis).

    Examples
    --------
    >>> import numpy as np
    >>> scale_segment(np.arange(5.0), 0, 1, 3), scale_segment(2.0, None, 1, 3)
    (array([1., 2.]), 2.0)
    """
    return scale if scale_axis is None else scale[start:stop]


def apply_scale(xp: Any, out: Any, scale: Any, scale_axis: int | None) -> Any:
    """``out *= scale`` (``scale`` along ``scale_axis`` of ``out`` when 1-D); returns ``out``.

    Examples
    --------
    >>> import numpy as np
    >>> apply_scale(np, np.ones((2, 3)), np.array([1.0, 2.0]), 0)
    array([[1., 1., 1.],
           [2., 2., 2.]])
    """
    if scale is None:
        return out
    if scale_axis is not None:
        shape = [1] * out.ndim
        shape[scale_axis] = -1
        scale = xp.reshape(xp.asarray(scale), tuple(shape))
    out *= scale
    return out
