"""What a kernel needs to know about one differentiated axis of one block."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["AxisSpec", "face_len"]


@dataclass(frozen=True)
class AxisSpec:
    """How to differentiate one block along one axis.

    Parameters
    ----------
    axis : int
        The axis of the block (non-negative).
    edge_order : int
        1 or 2: order of the one-sided differences at a domain edge.
    h : scalar, optional
        Uniform spacing: NumPy's uniform formula ``(f[i+1] - f[i-1]) / (2 h)``.
        Its type is kept as given (a Python float is a weak scalar under NEP 50).
    dx : 1-D array, optional
        Non-uniform spacing: the coordinate differences over ``lo + block + hi``
        along ``axis`` (length ``len(lo) + n + len(hi) - 1``), in the block's namespace.
        Exactly one of ``h`` and ``dx`` is given.
    lo, hi : array, optional
        The planes just before / after the block along ``axis`` (same ndim as the
        block, 1 or 2 planes). ``None`` marks a domain edge: one-sided differences.

    Examples
    --------
    >>> AxisSpec(axis=0, edge_order=2, h=0.5).h
    0.5
    """

    axis: int
    edge_order: int
    h: Any = None
    dx: Any = None
    lo: Any = None
    hi: Any = None

    def __post_init__(self) -> None:
        if (self.h is None) == (self.dx is None):
            raise ValueError("AxisSpec needs exactly one of h (uniform) and dx (coordinates)")


def face_len(face: Any, axis: int) -> int:
    """Number of planes in ``face`` along ``axis`` (0 for ``None``).

    Examples
    --------
    >>> import numpy as np
    >>> face_len(None, 0), face_len(np.zeros((2, 3)), 0)
    (0, 2)
    """
    return 0 if face is None else int(face.shape[axis])
