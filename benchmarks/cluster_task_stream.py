"""Where the time of a LocalCluster run goes: compute and transfer time per task kind.

Usage (from the repository root)::

    python benchmarks/cluster_task_stream.py            # (256, 512, 512), (64, 128, 128)
    python benchmarks/cluster_task_stream.py --quick    # tiny: the smoke test

Starts a 2-process LocalCluster (1 thread each, 127.0.0.1), persists a random input,
warms the cluster with a few runs of each graph (numba compiles once per worker),
then records ``distributed.get_task_stream`` for one run of the Dask floor
(``_measure.dask_floor``) and one of ``daskgrad.gradient``, and prints, per task kind,
how many tasks computed or fetched data and the seconds summed over both workers.
A transfer is attributed to the task that needed the data.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _measure import dask_floor, task_kind, wait_released  # noqa: E402

import daskgrad  # noqa: E402


def profile(client: Any, build: Any, keep: int, warm: int) -> tuple[float, dict]:
    """Wall seconds of one persisted run and ``{(kind, action): (count, seconds)}``."""
    from distributed import get_task_stream, wait

    for _ in range(warm):
        futs = client.persist(list(build()))
        wait(futs)
        del futs
        wait_released(client, keep)
    with get_task_stream(client) as stream:
        t = time.perf_counter()
        futs = client.persist(list(build()))
        wait(futs)
        wall = time.perf_counter() - t
    del futs
    wait_released(client, keep)
    count: Counter = Counter()
    secs: Counter = Counter()
    for event in stream.data:
        for part in event["startstops"]:
            k = (task_kind(event["key"]), part["action"])
            count[k] += 1
            secs[k] += part["stop"] - part["start"]
    return wall, {k: (count[k], secs[k]) for k in sorted(count)}


def main(argv: list[str] | None = None) -> dict:
    import dask.array as da
    from distributed import Client, LocalCluster, wait

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="tiny input, one warm-up run")
    args = p.parse_args(argv)
    shape, chunks, warm = (
        ((8, 12, 10), (4, 6, 5), 1) if args.quick else ((256, 512, 512), (64, 128, 128), 4)
    )
    results = {}
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        x = da.random.random(shape, chunks=chunks).persist()
        wait(x)
        for label, build in (
            ("Dask floor", lambda: dask_floor(x)),
            ("daskgrad", lambda: daskgrad.gradient(x)),
        ):
            wall, rows = profile(client, build, x.npartitions, warm)
            results[label] = (wall, rows)
            print(f"{label}: {wall * 1e3:.0f} ms wall")
            for (kind, action), (n, s) in rows.items():
                print(f"    {kind:12s} {action:9s} {n:5d} tasks {s * 1e3:8.1f} ms summed")
    return results


if __name__ == "__main__":
    main()
