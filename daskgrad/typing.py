"""Type aliases of daskgrad's public signatures, for annotating code that calls it.

The string and integer options of :func:`daskgrad.gradient`, the ``grad`` accessor,
:func:`daskgrad.divergence` and :func:`daskgrad.vorticity` are ``Literal`` types, so
that a type checker (mypy, pyright) flags ``boundary="periodc"`` or ``edge_order=3``
before the call raises. The package ships a ``py.typed`` marker (PEP 561).

Attributes
----------
Boundary
    ``Literal["none", "periodic"]``: one-sided differences at the ends, or an axis
    that wraps around. The public functions also take a mapping of these per axis
    (per name in the xarray layer), and the xarray layer ``None`` (its default).
EdgeOrder
    ``Literal[1, 2]``: order of the one-sided differences at non-periodic ends.
NanPolicy
    ``Literal["propagate", "omit", "raise"]``: what a NaN means (SciPy's names).

Examples
--------
>>> from typing import get_args
>>> from daskgrad.typing import Boundary, EdgeOrder, NanPolicy
>>> get_args(Boundary), get_args(EdgeOrder), get_args(NanPolicy)
(('none', 'periodic'), (1, 2), ('propagate', 'omit', 'raise'))

A variable annotated with an alias passes the checker where a plain ``str`` or
``int`` would not:

>>> import numpy as np, daskgrad
>>> order: EdgeOrder = 2
>>> daskgrad.gradient(np.arange(4.0) ** 2, edge_order=order)
array([0., 2., 4., 6.])
"""

from __future__ import annotations

from typing import Literal

__all__ = ["Boundary", "EdgeOrder", "NanPolicy"]

Boundary = Literal["none", "periodic"]
EdgeOrder = Literal[1, 2]
NanPolicy = Literal["propagate", "omit", "raise"]
