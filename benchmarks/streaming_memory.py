"""Peak memory of a streaming gradient as the array grows, and what is held at the peak.

Usage (from the repository root)::

    python benchmarks/streaming_memory.py                 # 0.5 to 8 GiB, (64, 128, 128)
    python benchmarks/streaming_memory.py --quick         # tiny: the smoke test

The input is generated lazily (``da.random``) and all three partials are computed on
the threaded scheduler (2 threads), each either summed (``sum``) or stored chunk by
chunk into a target that discards what it gets (``store``: ``da.store``, as a write to
Zarr would be, without the disk), so nothing but what the scheduler keeps alive is
in memory. Reported per method and size: peak traced
memory (tracemalloc: NumPy buffers), and, at the moment the scheduler held the most
bytes, how many MiB of which task kind it held (input blocks, faces, kernel
tuples, ...), from a ``dask.callbacks.Callback`` that sums ``nbytes`` of the
scheduler's cache after every task.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _measure import peak_tracemalloc, task_kind  # noqa: E402

import daskgrad  # noqa: E402


def _nbytes(value: Any) -> int:
    if isinstance(value, dict):
        return sum(_nbytes(v) for v in value.values())
    if isinstance(value, (tuple, list)):
        return sum(_nbytes(v) for v in value)
    return int(getattr(value, "nbytes", 0))


def _held_at_peak(run: Any) -> tuple[int, Counter]:
    from dask.callbacks import Callback

    best: list[Any] = [0, Counter()]

    class Held(Callback):
        def _posttask(self, key, result, dsk, state, id):  # noqa: ANN001, ANN202, A002
            by_kind: Counter = Counter()
            for k, v in state["cache"].items():
                by_kind[task_kind(k)] += _nbytes(v)
            total = sum(by_kind.values())
            if total > best[0]:
                best[:] = [total, by_kind]

    with Held():
        run()
    return best[0], best[1]


class _Discard:
    """A ``da.store`` target that drops every chunk."""

    def __setitem__(self, key: Any, value: Any) -> None:
        pass


def measure(
    shape: tuple[int, ...], chunks: tuple[int, ...], method: str, consumer: str = "sum"
) -> dict:
    import dask
    import dask.array as da

    x = da.random.default_rng(0).standard_normal(shape, chunks=chunks)
    outs = daskgrad.gradient(x) if method == "daskgrad" else da.gradient(x)

    def run() -> Any:
        if consumer == "store":
            targets = [_Discard() for _ in outs]
            return da.store(list(outs), targets, lock=False, scheduler="threads", num_workers=2)
        return dask.compute(*[g.sum() for g in outs], scheduler="threads", num_workers=2)

    if method == "daskgrad":
        daskgrad.gradient(np.ones((3, 3, 3)))  # numba compiles outside the measurement
    t = time.perf_counter()
    peak = peak_tracemalloc(run)
    wall = time.perf_counter() - t
    held, by_kind = _held_at_peak(run)
    chunk = int(np.prod(chunks)) * 8
    return {"peak": peak, "wall": wall, "held": held, "by_kind": by_kind, "chunk": chunk}


def main(argv: list[str] | None = None) -> list[str]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="tiny arrays")
    args = p.parse_args(argv)
    chunks = (2, 3, 3) if args.quick else (64, 128, 128)
    lengths = (4, 8) if args.quick else (256, 1024, 2048, 4096)
    tail = (6, 6) if args.quick else (512, 512)
    lines = [
        "| method | consumer | shape | input | peak (tracemalloc) | peak / chunk "
        "| held at peak, by task kind (MiB) | wall s |",
        "|---|---|---|---:|---:|---:|---|---:|",
    ]
    for consumer, n in [(c, n) for c in ("sum", "store") for n in lengths]:
        shape = (n, *tail)
        for method in ("daskgrad", "dask.array.gradient"):
            r = measure(shape, chunks, method, consumer)
            kinds = ", ".join(
                f"{k} {v / 2**20:,.0f}" for k, v in r["by_kind"].most_common() if v >= 2**20
            )
            nbytes = int(np.prod(shape)) * 8
            lines.append(
                f"| {method} | {consumer} | {shape} | {nbytes / 2**30:.2f} GiB "
                f"| {r['peak'] / 2**20:,.0f} MiB "
                f"| {r['peak'] / r['chunk']:.1f} | {kinds or '-'} | {r['wall']:.1f} |"
            )
            print(lines[-1], flush=True)
    return lines


if __name__ == "__main__":
    main()
