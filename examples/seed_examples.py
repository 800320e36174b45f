"""The two examples of the tutorial daskgrad grew from, with daskgrad beside torch.

1. f(x) = x**3 sampled at the non-monotonic points x = [-1, -2, 3, 4].
2. f(x) = x**2 + 3 on the 2 x 2 grid x = [[1, 2], [3, 4]]: all dims, dim 0, dim 1.

The tutorial called ``torch.gradient(values)`` without the coordinates, so its
answer is a derivative *per index* (unit spacing), not per unit of x. Passing the
coordinates (``spacing=(x,)`` in torch form, ``gradient(values, x)`` in NumPy
form) gives the estimate of df/dx itself: for x**3 the true derivative 3 x**2 is
[3, 12, 27, 48]; the second-order estimate on these four points is [7, 7, 32, 37].

Run: ``python examples/seed_examples.py`` (torch is optional: without it only
daskgrad's results are printed).
"""

from __future__ import annotations

import importlib.util

import numpy as np

import daskgrad

HAS_TORCH = importlib.util.find_spec("torch") is not None


def show(label: str, ours: tuple, theirs: object = None) -> None:
    """Print daskgrad's tuple (torch form) and, when given, torch.gradient's."""
    print(f"  {label}")
    print(f"    daskgrad: {[np.asarray(g).tolist() for g in ours]}")
    if theirs is not None:
        print(f"    torch:    {[t.tolist() for t in theirs]}")
        for g, t in zip(ours, theirs, strict=True):
            np.testing.assert_allclose(np.asarray(g), t.numpy(), rtol=1e-12)


def torch_gradient(values: np.ndarray, **kwargs: object) -> object:
    """torch.gradient on float64 tensors (None when torch is not installed)."""
    if not HAS_TORCH:
        return None
    import torch

    spacing = kwargs.get("spacing")
    if isinstance(spacing, tuple):
        kwargs["spacing"] = tuple(torch.from_numpy(s) for s in spacing)
    return torch.gradient(torch.from_numpy(values), **kwargs)


def example_cubic() -> None:
    x = np.array([-1.0, -2.0, 3.0, 4.0])
    values = x**3
    print(
        "Example 1: f(x) = x**3 at x = [-1, -2, 3, 4];  true f'(x) = 3x**2 =", (3 * x**2).tolist()
    )
    show(
        "per index (the tutorial: no coordinates)",
        daskgrad.gradient(values, dim=0),
        torch_gradient(values, dim=0),
    )
    show(
        "per index, edge_order=2",
        daskgrad.gradient(values, dim=0, edge_order=2),
        torch_gradient(values, dim=0, edge_order=2),
    )
    show(
        "per unit of x (coordinates passed: spacing=(x,))",
        daskgrad.gradient(values, spacing=(x,)),
        torch_gradient(values, spacing=(x,)),
    )
    show(
        "per unit of x, edge_order=2",
        daskgrad.gradient(values, spacing=(x,), edge_order=2),
        torch_gradient(values, spacing=(x,), edge_order=2),
    )
    print(
        "  NumPy form, same answer: daskgrad.gradient(values, x) =",
        daskgrad.gradient(values, x).tolist(),
    )


def example_grid() -> None:
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    values = x**2 + 3
    print("\nExample 2: f(x) = x**2 + 3 on the grid x = [[1, 2], [3, 4]]")
    show(
        "all dims (per index)",
        daskgrad.gradient(values, spacing=1.0),
        torch_gradient(values, spacing=1.0),
    )
    show("dim 0", daskgrad.gradient(values, dim=0), torch_gradient(values, dim=0))
    show("dim 1", daskgrad.gradient(values, dim=1), torch_gradient(values, dim=1))
    # x steps by 2 down dim 0 and by 1 along dim 1: the spacing per dim turns the
    # per-index differences into df/dx estimates (true f'(x) = 2x).
    show(
        "per unit of x: spacing=[2.0, 1.0]",
        daskgrad.gradient(values, spacing=[2.0, 1.0]),
        torch_gradient(values, spacing=[2.0, 1.0]),
    )


def example_chunked() -> None:
    """The same first example on a Dask array in chunks of one point (which
    dask.array.gradient refuses), with lazy coordinates: same numbers."""
    if importlib.util.find_spec("dask") is None:
        return
    import dask.array as da

    x = np.array([-1.0, -2.0, 3.0, 4.0])
    lazy = daskgrad.gradient(da.from_array(x**3, chunks=1), da.from_array(x, chunks=1))
    print("\nExample 1 on Dask, chunks of size 1, lazy coordinates:", lazy.compute().tolist())


def main() -> None:
    if not HAS_TORCH:
        print("(torch is not installed: showing daskgrad's results only)\n")
    example_cubic()
    example_grid()
    example_chunked()


if __name__ == "__main__":
    main()
