"""The first call in a fresh process, right after ``pip install`` (issue 11, target 1).

Each round starts fresh interpreters, one after another, and takes their wall time:

- ``import daskgrad, numpy as np`` (the baseline);
- the same plus ``daskgrad.gradient(np.ones((73, 144)))``;
- the same plus ``daskgrad.gradient(np.ones((8, 73, 144), np.float32))`` after it
  (the threaded kernel, another dtype): its cost is this minus the previous line;
- ``daskgrad.gradient(da.ones((73, 144), chunks=37))[0].compute()`` against
  ``da.ones((73, 144), chunks=37).compute()`` (the first Dask task of a fresh worker).

"Right after pip install" is emulated by an empty ``NUMBA_CACHE_DIR`` (numba's cache
and daskgrad's warm-up stamp live there, so nothing is warm; the package's own
``.pyc`` files stay, as pip writes them). The first round runs on that empty cache,
the next rounds after it; the table gives the median and the slowest of the rounds'
differences. ``--before`` adds the same rounds with ``DASKGRAD_KERNEL=numba`` (the
fused kernel at the first call: today's behaviour before the reference-first
dispatch) in a cache of its own. ``--steady`` times a (256, 256, 256) float64
gradient in a process whose cache is warm, by mode, against numpy.gradient.

Run: ``python benchmarks/first_call.py [--rounds 3] [--before] [--steady]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 0.3

IMPORT = "import daskgrad, numpy as np"
CALL2 = "daskgrad.gradient(np.ones((73, 144)))"
CALL3 = "daskgrad.gradient(np.ones((8, 73, 144), np.float32))"
DASK_BASE = (
    "import daskgrad, numpy as np, dask.array as da; da.ones((73, 144), chunks=37).compute()"
)
DASK = (
    "import daskgrad, numpy as np, dask.array as da; "
    "daskgrad.gradient(da.ones((73, 144), chunks=37))[0].compute()"
)
COMMANDS = {
    "import": IMPORT,
    "2-D": f"{IMPORT}; {CALL2}",
    "2-D, 3-D": f"{IMPORT}; {CALL2}; {CALL3}",
    "dask base": DASK_BASE,
    "dask": DASK,
}
ROWS = (
    ("`gradient(np.ones((73, 144)))`", "2-D", "import"),
    ("then `gradient(np.ones((8, 73, 144), np.float32))`", "2-D, 3-D", "2-D"),
    ("first Dask task `gradient(da.ones((73, 144), chunks=37))[0].compute()`", "dask", "dask base"),
)


def _env(cache: Path, mode: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DASKGRAD_KERNEL"}
    env.update(PYTHONPATH=str(ROOT), NUMBA_CACHE_DIR=str(cache))
    if mode is not None:
        env["DASKGRAD_KERNEL"] = mode
    return env


def _wall(code: str, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], env=env, check=True, cwd=ROOT)
    return time.perf_counter() - start


def rounds(n: int, mode: str | None) -> list[dict[str, float]]:
    """``n`` rounds of every command on one fresh cache: wall seconds per command."""
    with tempfile.TemporaryDirectory(prefix="daskgrad-first-call-") as tmp:
        env = _env(Path(tmp), mode)
        return [{name: _wall(code, env) for name, code in COMMANDS.items()} for _ in range(n)]


def table(results: dict[str, list[dict[str, float]]]) -> str:
    """The Markdown table: per call, its extra wall time's median and slowest."""
    head = "| first call in a fresh process | target | " + " | ".join(
        f"{label}: median / slowest" for label in results
    )
    lines = [head + " | met |", "|" + " --- |" * (3 + len(results))]
    for title, cmd, base in ROWS:
        cells, met = [], ""
        for runs in results.values():
            diffs = [r[cmd] - r[base] for r in runs]
            med, worst = statistics.median(diffs), max(diffs)
            cells.append(f"+{med:.2f} s / +{worst:.2f} s")
            if not met:
                met = "met" if worst <= TARGET_S else "missed"
        lines.append(f"| {title} | ≤ +{TARGET_S} s | " + " | ".join(cells) + f" | {met} |")
    return "\n".join(lines)


STEADY = """
import os, time, numpy as np, daskgrad
f = np.random.default_rng(0).random((256, 256, 256))
def best(fn, n=5):
    t = []
    for _ in range(n):
        s = time.perf_counter(); fn(); t.append(time.perf_counter() - s)
    return min(t)
g = best(lambda: daskgrad.gradient(f), 7)
state, ref = daskgrad.kernels.kernel_state(), best(lambda: np.gradient(f))
mode = os.environ.get("DASKGRAD_KERNEL", "auto")
print(f"{mode}: {g:.3f} s (then {state}), numpy.gradient {ref:.3f} s, x{ref / g:.2f}")
"""


def steady() -> None:
    """Best of 7 on a warm cache, by mode, against numpy.gradient (best of 5)."""
    with tempfile.TemporaryDirectory(prefix="daskgrad-steady-") as tmp:
        env = _env(Path(tmp), None)
        warm = [sys.executable, "-m", "daskgrad.kernels._warm"]
        subprocess.run(warm, env=env, check=True, cwd=ROOT)
        for mode in ("auto", "numba", "reference"):
            env = _env(Path(tmp), mode)
            subprocess.run([sys.executable, "-c", STEADY], env=env, check=True, cwd=ROOT)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--before", action="store_true", help="also DASKGRAD_KERNEL=numba")
    p.add_argument("--steady", action="store_true", help="a (256,256,256) gradient, warm")
    args = p.parse_args(argv)
    results = {"default (auto)": rounds(args.rounds, None)}
    if args.before:
        results["DASKGRAD_KERNEL=numba"] = rounds(args.rounds, "numba")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(table(results))
    print(f"\n{args.rounds} rounds, load average {load:.2f}; wall seconds per round:")
    for label, runs in results.items():
        for r in runs:
            print(f"  {label}: " + ", ".join(f"{k} {v:.2f}" for k, v in r.items()))
    if args.steady:
        print()
        steady()


if __name__ == "__main__":
    main()
