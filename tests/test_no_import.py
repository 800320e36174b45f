"""``import daskgrad`` imports neither dask nor cupy (nor distributed, zarr, numba, cf_units),
checked in a fresh interpreter (array-api-compat's ``test_no_dependencies``); and
the core works on NumPy input where dask cannot be imported at all.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("dask", "cupy", "distributed", "zarr", "numba", "cf_units")


def _run(code: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _assert_ok(proc: subprocess.CompletedProcess) -> None:
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_import_does_not_import_heavy_modules() -> None:
    proc = _run(
        f"""
        import sys
        import daskgrad
        assert callable(daskgrad.gradient)
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in {HEAVY!r})
        assert not loaded, loaded
        """
    )
    _assert_ok(proc)


def test_numpy_call_does_not_import_dask_or_cupy() -> None:
    """Using the core on NumPy data imports no Dask/CuPy/distributed/zarr (numba may load:
    it is the fast in-memory kernel)."""
    proc = _run(
        """
        import sys
        import numpy as np
        import daskgrad
        g = daskgrad.gradient(np.arange(12.0).reshape(3, 4) ** 2, 0.5, [0, 1, 3, 4],
                              edge_order=2, boundary={0: "periodic"})
        assert len(g) == 2
        loaded = sorted(m for m in sys.modules
                        if m.split(".")[0] in ("dask", "cupy", "distributed", "zarr"))
        assert not loaded, loaded
        """
    )
    _assert_ok(proc)


def test_core_works_without_optional_backends() -> None:
    """With every optional backend unimportable (``sys.modules[name] = None``: the
    core-only environment of flox/xgcm CI) the NumPy path works, on the reference kernel."""
    proc = _run(
        f"""
        import sys
        for name in {HEAVY!r}:
            sys.modules[name] = None
            sys.modules[name + ".array"] = None
        import numpy as np
        import daskgrad
        f = np.array([1.0, 2.0, 4.0, 7.0, 11.0])
        assert np.array_equal(daskgrad.gradient(f), np.gradient(f))
        assert np.array_equal(daskgrad.gradient(f, [0, 1, 3, 4, 7], edge_order=2),
                              np.gradient(f, [0, 1, 3, 4, 7], edge_order=2))
        (g,) = daskgrad.gradient(f, spacing=2.0, boundary="periodic")
        assert np.array_equal(g, (np.roll(f, -1) - np.roll(f, 1)) / 4.0)
        print("ok")
        """
    )
    _assert_ok(proc)
    assert "ok" in proc.stdout
