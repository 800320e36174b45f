"""The typed public API: what a type checker infers for daskgrad's calls.

mypy (the ``[test]`` extra) checks a small snippet with ``assert_type`` against the
package's own configuration (``[tool.mypy]`` in pyproject.toml): the overloads of
``daskgrad.gradient`` (an integer ``axis`` gives one array; ``spacing=``/``dim=`` give
a tuple; ``axis=None`` or a tuple, either: 1-D input too, see ``daskgrad/api.py``),
the return types of the accessor, ``divergence`` and ``vorticity``, and the ``Literal``
aliases of :mod:`daskgrad.typing` (a misspelt option is an error: each bad call carries
a ``type: ignore`` that ``warn_unused_ignores`` would report if it were not needed).
Errors inside the package are the job of ``python -m mypy`` in ``.ci/run``; here
imports are followed silently, so that only the snippet's lines are judged.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import get_args

import pytest
import tomllib

from daskgrad import _plan
from daskgrad.typing import Boundary, EdgeOrder, NanPolicy

from .helpers import requires_dask, requires_xarray

ROOT = Path(__file__).resolve().parents[1]

SNIPPET = """
from typing import Any, assert_type

import dask.array as da
import numpy as np
import numpy.typing as npt
import xarray as xr

import daskgrad
from daskgrad.typing import Boundary, EdgeOrder, NanPolicy
from daskgrad.xarray import GradDataArrayAccessor, GradDatasetAccessor

Arr = np.ndarray[Any, np.dtype[Any]]


def check(
    a1: np.ndarray[tuple[int], np.dtype[np.float64]],
    a2: np.ndarray[tuple[int, int], np.dtype[np.float32]],
    nd: npt.NDArray[np.float64],
    d: da.Array,
    u: xr.DataArray,
    ds: xr.Dataset,
    order: EdgeOrder,
    side: Boundary,
    policy: NanPolicy,
) -> None:
    g = daskgrad.gradient
    # NumPy form: an integer axis gives one array, of the input's array type
    assert_type(g(a2, axis=0), Arr)
    assert_type(g(a2, 0.5, axis=-1, edge_order=order, boundary=side, nan_policy=policy), Arr)
    assert_type(g(a2, axis=np.int64(1), boundary={1: "periodic"}, period={1: 360.0}), Arr)
    assert_type(g(d, axis=0), da.Array)
    # axis=None or a tuple: one array (one axis) or a tuple; 1-D input too (no overload:
    # NumPy's NDArray leaves the shape open, so a 1-D overload would catch N-D arrays)
    assert_type(g(a1), Arr | tuple[Arr, ...])
    assert_type(g(a1, np.arange(4.0)), Arr | tuple[Arr, ...])
    assert_type(g(nd), Arr | tuple[Arr, ...])
    assert_type(g(np.zeros((3, 4))), Arr | tuple[Arr, ...])
    assert_type(g(a2), Arr | tuple[Arr, ...])
    assert_type(g(a2, axis=(0, 1)), Arr | tuple[Arr, ...])
    assert_type(g(d, 1.0, 2.0), da.Array | tuple[da.Array, ...])
    # torch form: spacing= or dim= always gives a tuple
    assert_type(g(a2, spacing=2.0), tuple[Arr, ...])
    assert_type(g(a2, spacing=np.float32(2.0)), tuple[Arr, ...])
    assert_type(g(a2, spacing=None), Arr | tuple[Arr, ...])  # None: the NumPy form
    assert_type(g(a2, spacing=[1.0, 2.0], axis=(0, 1)), tuple[Arr, ...])
    assert_type(g(a1, dim=0), tuple[Arr, ...])
    assert_type(g(d, dim=(0, 1), edge_order=2), tuple[da.Array, ...])
    # anything else array-like (lists, CuPy, torch tensors): not typed further
    assert_type(g([1.0, 4.0, 9.0]), Any)
    # misspelt options are errors
    g(a2, edge_order=3)  # type: ignore[call-overload]
    g(a2, boundary="periodc")  # type: ignore[call-overload]
    g(d, axis=0, nan_policy="ignore")  # type: ignore[call-overload]
    g([1.0, 2.0], boundary="wrap")  # type: ignore[call-overload]

    # the labeled layer
    assert_type(daskgrad.divergence(u, u, dims=("x", "y")), xr.DataArray)
    assert_type(daskgrad.vorticity(u, u, boundary={"x": "periodic"}), xr.DataArray)
    sides: dict[str, Boundary] = {"lon": "periodic"}  # a mapping kept in a variable
    periods: dict[str, float] = {"lon": 360.0}
    assert_type(daskgrad.divergence(u, u, boundary=sides, period=periods), xr.DataArray)
    by_axis: dict[int, Boundary] = {-1: "periodic"}
    assert_type(g(a2, axis=-1, boundary=by_axis, period={-1: 2 * np.pi}), Arr)
    daskgrad.vorticity(u, u, edge_order=0)  # type: ignore[arg-type]
    assert_type(GradDataArrayAccessor(u).differentiate("x"), xr.DataArray)
    assert_type(GradDatasetAccessor(ds).differentiate("x", 2, boundary="periodic"), xr.Dataset)
    assert_type(GradDataArrayAccessor(u).gradient(["x", "y"]), xr.Dataset)
    assert_type(GradDatasetAccessor(ds).gradient(nan_policy="omit"), xr.Dataset)
    GradDataArrayAccessor(u).differentiate("x", nan_policy="skip")  # type: ignore[arg-type]
    GradDatasetAccessor(ds).gradient(boundary="circular")  # type: ignore[arg-type]
"""


def test_aliases_match_the_checks():
    """The Literal aliases list exactly what the argument checks accept."""
    assert get_args(Boundary) == _plan.BOUNDARIES
    assert get_args(NanPolicy) == _plan.NAN_POLICIES
    assert get_args(EdgeOrder) == (1, 2)
    assert _plan.NanPolicy is NanPolicy  # the old import place still works


def test_py_typed_is_shipped():
    """PEP 561: the marker is in the package and pyproject.toml puts it in the wheel."""
    assert (ROOT / "daskgrad" / "py.typed").is_file()
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "py.typed" in config["tool"]["setuptools"]["package-data"]["daskgrad"]
    assert "mypy" in config["tool"]
    assert any(r.startswith("mypy") for r in config["project"]["optional-dependencies"]["test"])


@requires_dask
@requires_xarray
def test_mypy_infers_the_public_types(tmp_path):
    pytest.importorskip("mypy")
    snippet = tmp_path / "check_daskgrad_types.py"
    snippet.write_text(textwrap.dedent(SNIPPET))
    cmd = [
        sys.executable,
        "-m",
        "mypy",
        "--config-file",
        str(ROOT / "pyproject.toml"),
        "--follow-imports=silent",
        "--cache-dir",
        str(ROOT / ".mypy_cache"),
        "--no-error-summary",
        "--hide-error-context",
        str(snippet),
    ]
    # MYPYPATH: this checkout's daskgrad, also under an editable install (whose import
    # hook mypy does not follow)
    env = dict(os.environ, MYPYPATH=str(ROOT))
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
