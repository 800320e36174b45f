"""Oracles for daskgrad's array layer, and the case table they are compared on.

In the style of numbagg's ``COMPARISONS``: :data:`COMPARISONS` maps an oracle's
name to a reference callable and to the cases it applies to. The oracles are

- ``numpy.gradient`` (bool cast to float64 first), the contract's definition;
- ``np.roll periodic``: central differences that wrap, written with ``np.roll``
  (NumPy's uniform and non-uniform formulas in NumPy's order of operations, the
  seam spacing ``x[0] + period - x[-1]``); non-periodic axes of a mixed call go
  to ``numpy.gradient``;
- ``dask.array.gradient``, where it works (no periodic axis, every chunk along a
  differentiated axis at least ``edge_order + 1`` long, NumPy coordinates);
- ``torch.gradient`` (float64 tensors) where its semantics equal NumPy's.

Each oracle returns a list of NumPy arrays, one per differentiated axis.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from daskgrad._compat import dask_array_expr_enabled

# --------------------------------------------------------------------------- oracles


def _as_list(out: Any) -> list[np.ndarray]:
    if isinstance(out, tuple | list):
        return [np.asarray(o) for o in out]
    return [np.asarray(out)]


def numpy_gradient(f: Any, *varargs: Any, axis: Any = None, edge_order: int = 1) -> list:
    """``numpy.gradient`` as a list; bool data is cast to float64 first."""
    f = np.asarray(f)
    if f.dtype == bool:
        f = f.astype(np.float64)
    return _as_list(np.gradient(f, *varargs, axis=axis, edge_order=edge_order))


def _along(v: np.ndarray, ndim: int, axis: int) -> np.ndarray:
    shape = [1] * ndim
    shape[axis] = -1
    return v.reshape(shape)


def periodic_axis(
    f: np.ndarray, axis: int, spacing: Any, period: Any = None, *, reduce_uniform: bool = True
) -> np.ndarray:
    """Periodic central differences of ``f`` along ``axis`` (``np.roll`` semantics).

    A scalar ``spacing`` h gives ``(roll(f, -1) - roll(f, 1)) / (2 h)``. Coordinates
    ``x`` need ``period`` P: the spacing across the seam is ``x[0] + P - x[-1]``,
    and NumPy's non-uniform formula ``a f[i-1] + b f[i] + c f[i+1]`` is used, or
    the uniform one when every spacing (seam included) is exactly equal and
    ``reduce_uniform`` (NumPy form).
    """
    f = np.asarray(f)
    fm, fp = np.roll(f, 1, axis), np.roll(f, -1, axis)
    if np.ndim(spacing) == 0:
        return (fp - fm) / (2.0 * spacing)
    x = np.asarray(spacing)
    x = x.astype(np.float64) if x.dtype.kind in "biu" else x
    seam = x[0] + period - x[-1]
    d = np.diff(x)
    hd = np.concatenate([d, [seam]])
    hs = np.concatenate([[seam], d])
    if reduce_uniform and (hd == hd[0]).all():
        return (fp - fm) / (2.0 * hd[0])
    a = -(hd) / (hs * (hs + hd))
    b = (hd - hs) / (hs * hd)
    c = hs / (hd * (hs + hd))
    a, b, c = (_along(v, f.ndim, axis) for v in (a, b, c))
    return a * fm + b * f + c * fp


def reference_gradient(
    f: Any,
    spacings: Sequence[Any],
    axes: Sequence[int],
    *,
    edge_order: int = 1,
    periodic: Sequence[bool] | None = None,
    periods: Sequence[Any] | None = None,
) -> list[np.ndarray]:
    """The contract per axis: ``np.roll`` on periodic axes, ``numpy.gradient`` elsewhere.

    ``spacings``, ``periodic`` and ``periods`` are given in the order of ``axes``.
    """
    f = np.asarray(f)
    if f.dtype == bool:
        f = f.astype(np.float64)
    periodic = periodic or [False] * len(axes)
    periods = periods or [None] * len(axes)
    out = []
    for ax, sp, per, p in zip(axes, spacings, periodic, periods, strict=True):
        if per:
            out.append(periodic_axis(f, ax, sp, p))
        else:
            out.append(np.gradient(f, sp, axis=ax, edge_order=edge_order))
    return out


def dask_gradient(f: Any, *varargs: Any, axis: Any = None, edge_order: int = 1) -> list:
    """``dask.array.gradient`` computed, as a list of NumPy arrays."""
    import dask.array as da

    return _as_list(da.compute(da.gradient(f, *varargs, axis=axis, edge_order=edge_order))[0])


def torch_gradient(f: Any, spacing: Any = None, dim: Any = None, edge_order: int = 1) -> list:
    """``torch.gradient`` on float64 tensors, as a list of NumPy arrays.

    ``spacing`` may hold NumPy coordinate arrays: they become float64 tensors.
    """
    import torch

    t = torch.from_numpy(np.asarray(f, dtype=np.float64))
    if spacing is not None and not np.isscalar(spacing):
        spacing = [
            s if np.ndim(s) == 0 else torch.from_numpy(np.asarray(s, dtype=np.float64))
            for s in spacing
        ]
    kwargs: dict[str, Any] = {"edge_order": edge_order}
    if spacing is not None:
        kwargs["spacing"] = spacing
    if dim is not None:
        kwargs["dim"] = dim
    return [g.numpy() for g in torch.gradient(t, **kwargs)]


# --------------------------------------------------------------------------- the case table

#: chunkings of a length-10 axis (SEMANTICS/STYLE: ragged, size 1, single chunk)
CHUNKINGS_1D = ((1, 4, 5), (5, 5), (9, 1), (10,), (1,) * 10)
SHAPE_2D = (10, 7)
CHUNKINGS_2D = (
    ((1, 4, 5), (3, 4)),
    ((5, 5), (7,)),
    ((9, 1), (1,) * 7),
    ((10,), (7,)),
    ((1,) * 10, (2, 2, 2, 1)),
)
SHAPE_3D = (5, 4, 6)
CHUNKINGS_3D = (
    ((1, 4), (2, 2), (3, 3)),
    ((5,), (1, 1, 1, 1), (6,)),
    ((2, 2, 1), (4,), (1, 5)),
    ((5,), (4,), (6,)),
    ((1,) * 5, (1,) * 4, (1,) * 6),
)
SCALARS = (0.7, 1.3, -2.5)
COORD_FORMS = ("coords_uniform", "coords_nonuniform", "non_monotonic", "mixed", "list")


def coords(form: str, n: int, seed: int) -> np.ndarray:
    """1-D coordinates of length ``n``.

    ``coords_uniform``: ``3 i + 1`` (all differences exactly 3: NumPy reduces them
    to the scalar 3); ``coords_nonuniform``: increasing, random steps in [0.5, 1.5);
    ``non_monotonic``: steps alternate in sign (like the seed's x=[-1,-2,3,4]),
    with ``x[i+1] != x[i-1]``.
    """
    if form == "coords_uniform":
        return 3.0 * np.arange(n) + 1.0
    rng = np.random.default_rng(1000 + 17 * n + seed)
    steps = rng.uniform(0.5, 1.5, n)
    if form == "non_monotonic":
        steps = np.where(np.arange(n) % 2 == 1, -0.4 * steps, steps + 0.3)
    return np.cumsum(steps) - steps[0]


def period_for(x: np.ndarray) -> float:
    """A period that makes the seam spacing equal to the typical spacing (3 for
    ``coords_uniform``: the seam is then exactly 3 too)."""
    if len(x) > 1 and (np.diff(x) == 3.0).all():
        return 3.0 * len(x)
    return float(x[-1] - x[0]) + 0.9


@dataclass(frozen=True)
class Case:
    """One row of the table: how to build the inputs of one ``daskgrad.gradient`` call."""

    shape: tuple[int, ...]
    backend: str  # "numpy" | "dask" | "dask-coords"
    chunks: tuple[tuple[int, ...], ...] | None
    form: str
    axis: Any
    edge_order: int
    boundary: str  # "none" | "periodic" | "mixed" (last differentiated axis periodic)

    @property
    def axes(self) -> tuple[int, ...]:
        nd = len(self.shape)
        if self.axis is None:
            return tuple(range(nd))
        axis = (self.axis,) if isinstance(self.axis, int) else self.axis
        return tuple(a % nd for a in axis)

    @property
    def id(self) -> str:
        ch = (
            "x".join("".join(map(str, c)) if len(c) < 6 else f"1*{len(c)}" for c in self.chunks)
            if self.chunks
            else "-"
        )
        return (
            f"{len(self.shape)}d-{self.backend}-{ch}-{self.form}-ax{self.axis}-"
            f"e{self.edge_order}-{self.boundary}"
        ).replace(" ", "")

    def periodic(self) -> list[bool]:
        if self.boundary == "none":
            return [False] * len(self.axes)
        if self.boundary == "periodic":
            return [True] * len(self.axes)
        return [i == len(self.axes) - 1 for i in range(len(self.axes))]

    def boundary_arg(self) -> Any:
        if self.boundary != "mixed":
            return self.boundary
        return {self.axes[-1] - len(self.shape): "periodic"}  # negative key on purpose

    def data(self) -> np.ndarray:
        seed = sum(self.shape) + 7 * len(self.shape)
        return np.random.default_rng(seed).standard_normal(self.shape)

    def spacings(self) -> list[Any]:
        """One spacing per differentiated axis, in axis order (NumPy coordinates)."""
        out: list[Any] = []
        for i, ax in enumerate(self.axes):
            n = self.shape[ax]
            if self.form == "none":
                out.append(1.0)
            elif self.form == "scalar":
                out.append(SCALARS[0])
            elif self.form == "per_axis":
                out.append(SCALARS[i % 3])
            elif self.form == "mixed":
                out.append(SCALARS[i % 3] if i % 2 else coords("coords_nonuniform", n, ax))
            elif self.form == "list":
                out.append(coords("coords_nonuniform", n, ax))
            else:
                out.append(coords(self.form, n, ax))
        return out

    def periods(self) -> list[Any]:
        return [
            period_for(sp) if per and np.ndim(sp) == 1 else None
            for sp, per in zip(self.spacings(), self.periodic(), strict=True)
        ]

    def varargs(self) -> tuple[Any, ...]:
        """The positional spacings of the daskgrad call (NumPy form)."""
        sps = self.spacings()
        if self.form == "none":
            return ()
        if self.form == "scalar":
            return (sps[0],)
        if self.form == "list":
            return tuple(s.tolist() for s in sps)
        if self.backend == "dask-coords":
            return tuple(self._lazy(s, ax) for s, ax in zip(sps, self.axes, strict=True))
        return tuple(sps)

    def _lazy(self, s: Any, ax: int) -> Any:
        if np.ndim(s) == 0:
            return s
        import dask.array as da

        return da.from_array(s, chunks=(self.chunks[ax],))

    def kwargs(self) -> dict[str, Any]:
        kw: dict[str, Any] = {"axis": self.axis, "edge_order": self.edge_order}
        if self.boundary != "none":
            kw["boundary"] = self.boundary_arg()
            nd = len(self.shape)
            per = {  # "mixed": negative keys, as the boundary dict
                ax - nd if self.boundary == "mixed" else ax: p
                for ax, p in zip(self.axes, self.periods(), strict=True)
                if p
            }
            if per:
                kw["period"] = per
        return kw

    def f(self) -> Any:
        data = self.data()
        if self.backend == "numpy":
            return data
        import dask.array as da

        return da.from_array(data, chunks=self.chunks)


def _forms(nd: int) -> tuple[str, ...]:
    if nd == 1:
        return ("none", "scalar", "coords_uniform", "coords_nonuniform", "non_monotonic", "list")
    if nd == 2:
        return (
            "none",
            "scalar",
            "per_axis",
            "coords_uniform",
            "coords_nonuniform",
            "non_monotonic",
            "mixed",
            "list",
        )
    return ("none", "per_axis", "coords_nonuniform", "mixed")


_AXES = {1: (None, 0), 2: (None, -1, (1, 0)), 3: (None, (2, 0))}
_BOUNDARIES = {1: ("none", "periodic"), 2: ("none", "periodic", "mixed"), 3: ("none", "mixed")}
_SHAPES = {
    1: ((10,), tuple((c,) for c in CHUNKINGS_1D)),
    2: (SHAPE_2D, CHUNKINGS_2D),
    3: (SHAPE_3D, CHUNKINGS_3D),
}


def _backends(form: str, chunkings: Sequence[Any], has_dask: bool) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = [("numpy", None)]
    if not has_dask:
        return out
    out += [("dask", c) for c in chunkings]
    if form in COORD_FORMS and form != "list":
        out += [("dask-coords", c) for c in chunkings]
    return out


def make_cases(has_dask: bool = True) -> list[Case]:
    """Every case of the table (a 1-D axis of 10 points, 2-D (10, 7), 3-D (5, 4, 6))."""
    cases = []
    for nd, (shape, chunkings) in _SHAPES.items():
        for form, axis, eo, bnd in itertools.product(
            _forms(nd), _AXES[nd], (1, 2), _BOUNDARIES[nd]
        ):
            for backend, chunks in _backends(form, chunkings, has_dask):
                case = Case(shape, backend, chunks, form, axis, eo, bnd)
                if form == "mixed" and len(case.axes) < 2:
                    continue
                if form == "scalar" and len(case.axes) > 1 and bnd == "mixed":
                    continue
                cases.append(case)
    return cases


# --------------------------------------------------------------------------- the oracles per case


def _numpy_oracle(case: Case) -> list:
    return numpy_gradient(case.data(), *case.spacings(), axis=case.axes, edge_order=case.edge_order)


def _roll_oracle(case: Case) -> list:
    return reference_gradient(
        case.data(),
        case.spacings(),
        case.axes,
        edge_order=case.edge_order,
        periodic=case.periodic(),
        periods=case.periods(),
    )


def _dask_applies(case: Case) -> bool:
    # dask's array-expr mode (DASK_ARRAY__QUERY_PLANNING=True) has no da.gradient
    return (
        case.backend == "dask"
        and case.boundary == "none"
        and all(min(case.chunks[ax]) >= case.edge_order + 1 for ax in case.axes)
        and not dask_array_expr_enabled()
    )


def _dask_oracle(case: Case) -> list:
    import dask.array as da

    f = da.from_array(case.data(), chunks=case.chunks)
    return dask_gradient(f, *case.spacings(), axis=case.axes, edge_order=case.edge_order)


def _torch_applies(case: Case) -> bool:
    # torch reduces nothing: coordinates always take the non-uniform path, and it
    # cannot mix numbers with tensors; its spacing list must match `dim`.
    return (
        case.backend == "numpy"
        and case.boundary == "none"
        and case.form in ("none", "scalar", "per_axis", "coords_nonuniform", "non_monotonic")
    )


def _torch_oracle(case: Case) -> list:
    return torch_gradient(
        case.data(), spacing=case.spacings(), dim=case.axes, edge_order=case.edge_order
    )


@dataclass(frozen=True)
class Oracle:
    """A reference callable, the cases it applies to, and whether it must match bit for bit."""

    func: Callable[[Case], list]
    applies: Callable[[Case], bool]
    exact: bool
    requires: str | None = None


COMPARISONS: dict[str, Oracle] = {
    # bit-identical: the contract aims for NumPy's order of operations (float64 data)
    "numpy.gradient": Oracle(_numpy_oracle, lambda c: c.boundary == "none", exact=True),
    "np.roll periodic": Oracle(_roll_oracle, lambda c: c.boundary != "none", exact=False),
    "dask.array.gradient": Oracle(_dask_oracle, _dask_applies, exact=False, requires="dask"),
    "torch.gradient": Oracle(_torch_oracle, _torch_applies, exact=False, requires="torch"),
}
