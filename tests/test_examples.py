"""Every example in ``examples/`` runs from the Quick start's install
(``pip install -e ".[io]"``): each one as a subprocess, in a scratch directory, and the
benchmarks' reproduce commands are relative to the repository."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import requires_distributed, requires_xarray, requires_zarr

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
PYTHON_EXAMPLES = sorted(p.name for p in EXAMPLES.glob("*.py"))
#: what each example prints when it did its job (checked beside the exit status)
EXPECT = {
    "quickstart.py": "bit-identical to numpy.gradient: True",
    "seed_examples.py": "Example 1 on Dask, chunks of size 1, lazy coordinates",
    "climate.py": "wrote ",
    "convergence.py": "ratio 2.5/1.25",
    "masked_ocean.py": "both policies agree exactly: True",
}
#: what ``pip install -e ".[io]"`` brings (and the standard library): examples import
#: nothing else, so none needs the test extra (pytest, hypothesis, the tests package)
IO_EXTRA = {"numpy", "daskgrad", "xarray", "dask", "distributed", "zarr", "netCDF4"}
IO_EXTRA |= {"numba", "matplotlib", "bokeh", "tqdm"}
OPTIONAL = {"torch"}  # imported only when installed (seed_examples.py compares with it)


def _env() -> dict[str, str]:
    from tests.test_cli import cli_env

    return cli_env()


def test_every_example_is_listed():
    assert set(PYTHON_EXAMPLES) == set(EXPECT)


@pytest.mark.parametrize("name", PYTHON_EXAMPLES)
def test_examples_import_only_the_io_extra(name):
    tree = ast.parse((EXAMPLES / name).read_text())
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module.split(".")[0])
    extra = modules - IO_EXTRA - OPTIONAL - set(sys.stdlib_module_names)
    assert not extra, f"{name} imports {sorted(extra)}, which the io extra does not install"
    assert "sys.path" not in (EXAMPLES / name).read_text(), "examples must not edit sys.path"


@requires_xarray
@requires_zarr
@requires_distributed
@pytest.mark.slow
@pytest.mark.parametrize("name", PYTHON_EXAMPLES)
def test_example_runs(name, tmp_path):
    args = [sys.executable, str(EXAMPLES / name)]
    png = tmp_path / name.replace(".py", ".png")
    if name == "climate.py":
        args += [str(png), "--nlat", "37", "--nlon", "72"]
    if name == "masked_ocean.py":
        args += [str(png)]  # into tmp_path, not over docs/masked_ocean.png
    proc = subprocess.run(
        args, cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr
    assert EXPECT[name] in proc.stdout, proc.stdout
    if name in ("climate.py", "masked_ocean.py"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if name == "masked_ocean.py":
        _check_masked_ocean(proc.stdout)


def _check_masked_ocean(stdout: str) -> None:
    """omit keeps every ocean point but the runs of one point, propagate loses the coast."""
    kept = {
        policy: int(m[1])
        for policy in ("propagate", "omit")
        if (m := re.search(rf"finite \|grad SST\|, nan_policy='{policy}': (\d+)", stdout))
    }
    ocean = int(re.search(r"ocean points: (\d+)", stdout)[1])
    assert set(kept) == {"propagate", "omit"}, stdout
    assert kept["propagate"] < kept["omit"] <= ocean, stdout
    for line in (
        "Dask result equals the NumPy-backed one, chunk boundaries and all: True",
        "omit keeps every ocean point but the runs of one point: True",
        "propagate keeps exactly the ocean points whose neighbours are all ocean: True",
    ):
        assert line in stdout, stdout


@requires_xarray
@requires_zarr
@requires_distributed
@pytest.mark.slow
@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_batch_example_runs(tmp_path):
    env = {**_env(), "PYTHON": sys.executable}
    proc = subprocess.run(
        ["bash", str(EXAMPLES / "batch.sh"), str(tmp_path / "work")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.rstrip().endswith(f"done: {tmp_path / 'work'}"), proc.stdout
    assert "history: " in proc.stdout


def _reproduce_commands() -> list[tuple[str, str]]:
    """(file, line) of every line of benchmarks/ docs and docstrings that runs something."""
    found = []
    for path in sorted((REPO / "benchmarks").glob("*")):
        if path.suffix not in (".md", ".py"):
            continue
        for line in path.read_text().splitlines():
            if path.suffix == ".py":  # usage lines of the docstrings, not the code
                if re.match(r"\s*(nice\s+)?\S*python\S* \S*benchmarks/", line):
                    found.append((path.name, line))
            elif re.search(r"\bpython\b.*benchmarks/|benchmarks/\S+\.py", line):
                found.append((path.name, line))
    return found


def test_benchmark_reproduce_commands_are_relative_to_the_repository():
    commands = _reproduce_commands()
    assert len(commands) >= 5, commands
    for name, line in commands:
        assert not re.search(r"(?<![\w.])/(work|tmp|home|root|Users)/", line), (name, line)
        for match in re.finditer(r"(\S*python\S*) (\S*benchmarks/\S+\.py)", line):
            assert match[1].lstrip("`(") == "python", (name, line)  # no interpreter path
            assert match[2].startswith("benchmarks/"), (name, line)
