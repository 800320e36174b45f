"""Issue 11, target 4: peak memory of ``da.store`` on the default (threaded) scheduler
as the input grows, beside an elementwise pipeline and ``dask.array.gradient``.

Usage (from the repository root)::

    python benchmarks/store_memory.py            # 0.5 and 4 GiB of (T, 361, 720) float64
    python benchmarks/store_memory.py --quick    # 0.03 and 0.12 GiB: the smoke test

Each case runs in a fresh process: ``da.random`` input in (32, 91, 180) chunks, the
graph built, then ``da.store(outputs, targets, lock=False)`` into targets that drop
every block (a write to Zarr without the disk), on the threaded scheduler (2
threads). The peak RSS above the RSS once the graph is built (sampled every 5 ms) is
reported per size, and the growth from the small to the large input as a ratio. The
target: a method's peak at the large size is at most the elementwise pipeline's
growth ratio times its own peak at the small size, plus 4 chunks.

Methods: ``elementwise`` (``2 * u + 1``), ``geographic gradient`` (``.grad.gradient``
along longitude and latitude, ``geographic=True``: two outputs), ``vorticity``
(``daskgrad.vorticity(u, v, geographic=True)``, u and v each of the size given), and
``dask.array.gradient`` along the same two axes (no metric: the peer's best case).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

CHUNKS = (32, 91, 180)
METHODS = ("elementwise", "geographic gradient", "vorticity", "dask.array.gradient")


class _Discard:
    """A ``da.store`` target that drops every block."""

    def __setitem__(self, key: object, value: object) -> None:
        pass


def _outputs(method: str, steps: int) -> list:
    import dask.array as da
    import xarray as xr

    import daskgrad
    from daskgrad.datasets import sphere_grid

    g = sphere_grid(361, 720)

    def field(seed: int) -> xr.DataArray:
        x = da.random.default_rng(seed).standard_normal((steps, 361, 720), chunks=CHUNKS)
        dims = ("time", "latitude", "longitude")
        return xr.DataArray(x, dims=dims, coords={"latitude": g.latitude, "longitude": g.longitude})

    u = field(0)
    if method == "elementwise":
        return [(2 * u + 1).data]
    if method == "geographic gradient":
        out = u.grad.gradient(["longitude", "latitude"], geographic=True)
        return [d.data for d in out.data_vars.values()]
    if method == "vorticity":
        return [daskgrad.vorticity(u, field(1), geographic=True).data]
    return list(da.gradient(u.data, axis=(1, 2)))


def _child(method: str, steps: int) -> None:
    import dask.array as da
    import psutil
    from _measure import RssSampler

    import daskgrad

    daskgrad.gradient(np.ones((4, 8, 8)))  # kernels compiled / loaded before the baseline
    outs = _outputs(method, steps)
    with RssSampler([psutil.Process().pid]) as s:
        da.store(outs, [_Discard() for _ in outs], lock=False, scheduler="threads", num_workers=2)
    print(json.dumps({"peak": s.peak - s.baseline}))


def measure(method: str, steps: int) -> int:
    code = f"import store_memory as m; m._child({method!r}, {steps})"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=HERE, check=True
    )
    return int(json.loads(done.stdout.strip().splitlines()[-1])["peak"])


def main(argv: list[str] | None = None) -> list[str]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    args = p.parse_args(argv)
    step_bytes = 361 * 720 * 8
    sizes = (0.03, 0.12) if args.quick else (0.5, 4.0)
    steps = [max(CHUNKS[0], int(round(s * 2**30 / step_bytes))) for s in sizes]
    chunk = int(np.prod(CHUNKS)) * 8
    peaks = {m: [measure(m, n) for n in steps] for m in METHODS}
    base = peaks["elementwise"][1] / max(peaks["elementwise"][0], 1)
    lines = [
        f"| method | peak at {sizes[0]} GiB | peak at {sizes[1]} GiB | growth | "
        f"target: <= {base:.2f} x small + 4 chunks | met |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for m, (small, large) in peaks.items():
        limit = base * small + 4 * chunk
        lines.append(
            f"| {m} | {small / 2**20:,.0f} MiB | {large / 2**20:,.0f} MiB | "
            f"{large / max(small, 1):.2f}x | {limit / 2**20:,.0f} MiB | {large <= limit} |"
        )
    print("\n".join(lines))
    return lines


if __name__ == "__main__":
    main()
