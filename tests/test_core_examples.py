"""The core examples run as scripts (subprocesses) and print what they promise."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(script: str) -> str:
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONWARNINGS="error")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / script)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_seed_examples() -> None:
    out = _run("seed_examples.py")
    assert "[[-7.0, 14.0, 36.0, 37.0]]" in out  # per index, as the tutorial
    assert "[[7.0, 7.0, 32.0, 37.0]]" in out  # per unit of x: the coordinates passed
    assert "[[-28.0, 14.0, 36.0, 38.0]]" in out  # edge_order=2, per index
    assert "[[[8.0, 12.0], [8.0, 12.0]]]" in out  # grid, dim 0
    assert "[[[3.0, 3.0], [7.0, 7.0]]]" in out  # grid, dim 1
    try:
        import torch  # noqa: F401
    except ImportError:
        pytest.skip("torch not installed: torch columns not printed")
    assert "torch:" in out


def test_quickstart() -> None:
    out = _run("quickstart.py")
    assert "== NumPy" in out
    try:
        import dask  # noqa: F401
    except ImportError:
        return
    assert "chunks kept: True" in out
    assert "bit-identical to numpy.gradient: True" in out
