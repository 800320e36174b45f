"""Out of core: ``daskgrad gradient`` on a Zarr dataset several times larger than the
memory of all workers together, with the peak RSS of every process and the throughput.

The dataset is one float64 variable ``f(time, y, x)`` written chunk by chunk (never held
in memory); the command differentiates it along ``y`` and ``x`` on a LocalCluster of
``--workers`` processes limited to ``--memory-limit`` each. A sampler follows the command
and every process it starts (scheduler and client live in the command's process; each
worker is a child process) and records each one's peak resident set size.

Usage (the committed table in ``out_of_core.md`` came from the first line)::

    nice python benchmarks/out_of_core.py --size-gib 8 --workers 2 --memory-limit 1GiB
    python benchmarks/out_of_core.py --size-gib 0.25 --memory-limit 256MiB --no-write-md

The data directory (default: a fresh directory under the system temp dir) is deleted at
the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
GIB = 2**30


def make_input(path: Path, size_gib: float, ny: int, nx: int, tchunk: int) -> tuple:
    """Write ``f(time, y, x)`` of about ``size_gib`` GiB, one Zarr chunk at a time."""
    import xarray as xr
    import zarr

    ntime = max(tchunk, int(round(size_gib * GIB / (ny * nx * 8) / tchunk)) * tchunk)
    shape = (ntime, ny, nx)
    import dask.array as da

    template = xr.Dataset(
        {"f": (("time", "y", "x"), da.empty(shape, chunks=(tchunk, ny, nx)), {"units": "K"})},
        coords={"time": np.arange(ntime), "y": np.arange(ny) * 1000.0,
                "x": np.arange(nx) * 1000.0},
    )
    template.to_zarr(path, mode="w-", compute=False, zarr_format=2, consolidated=True)
    arr = zarr.open_array(path, path="f", mode="r+")
    yy, xx = np.meshgrid(np.linspace(0, 6, ny), np.linspace(0, 6, nx), indexing="ij")
    base = np.sin(yy) * np.cos(xx)

    def fill(start: int) -> None:
        rng = np.random.default_rng(start)
        block = base[None] + 0.1 * rng.standard_normal((tchunk, ny, nx))
        arr[start:start + tchunk] = block

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(fill, range(0, ntime, tchunk)))
    zarr.consolidate_metadata(path)
    return shape, (tchunk, ny, nx)


class RssSampler(threading.Thread):
    """Peak RSS of a process and all its descendants, sampled every ``interval`` s."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak: dict[int, int] = {}
        self.label: dict[int, str] = {}
        self.stop = threading.Event()

    def _label(self, proc) -> str:
        cmd = " ".join(proc.cmdline())
        if proc.pid == self.pid:
            return "daskgrad command (client + scheduler + nannies)"
        if "resource_tracker" in cmd:
            return "multiprocessing resource tracker"
        if "spawn_main" in cmd:
            return "worker"
        return cmd[:40]

    def run(self) -> None:
        import psutil

        root = psutil.Process(self.pid)
        while not self.stop.is_set():
            try:
                procs = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                return
            for p in procs:
                try:
                    rss = p.memory_info().rss
                    if p.pid not in self.label:
                        self.label[p.pid] = self._label(p)
                except psutil.Error:
                    continue
                self.peak[p.pid] = max(self.peak.get(p.pid, 0), rss)
            time.sleep(self.interval)


def machine() -> str:
    import psutil

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{cpu}, {os.cpu_count()} cores, {psutil.virtual_memory().total / GIB:.0f} GiB RAM, "
            f"{platform.system()} {platform.release()}, Python {platform.python_version()}")


def run(args: argparse.Namespace) -> dict:
    import dask
    import distributed
    import xarray as xr
    import zarr

    data_dir = Path(args.data_dir or tempfile.mkdtemp(prefix="daskgrad-ooc-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    src, out = data_dir / "input.zarr", data_dir / "gradient.zarr"
    try:
        t0 = time.perf_counter()
        shape, chunks = make_input(src, args.size_gib, args.ny, args.nx, args.tchunk)
        t_make = time.perf_counter() - t0
        in_bytes = int(np.prod(shape)) * 8
        cmd = [sys.executable, "-m", "daskgrad", "gradient", str(src), str(out),
               "--dim", "y", "--dim", "x", "--workers", str(args.workers),
               "--threads-per-worker", str(args.threads_per_worker),
               "--memory-limit", args.memory_limit, "--no-dashboard", "--no-progress"]
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p))
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        sampler = RssSampler(proc.pid)
        sampler.start()
        stdout, stderr = proc.communicate()
        wall = time.perf_counter() - t0
        sampler.stop.set()
        sampler.join()
        if proc.returncode != 0:
            raise SystemExit(f"daskgrad failed ({proc.returncode}):\n{stderr}")
        stream_s = float(stdout.rsplit(" in ", 1)[1].split(" s")[0])
        with xr.open_zarr(out) as ds:
            out_bytes = sum(v.nbytes for v in ds.data_vars.values())
            check = ds["df_dx"].isel(time=-1).values
        assert np.isfinite(check).all()
        return {
            "shape": shape, "chunks": chunks, "in_bytes": in_bytes, "out_bytes": out_bytes,
            "t_make": t_make, "wall": wall, "stream_s": stream_s, "stdout": stdout.strip(),
            "peaks": sorted(((sampler.label[p], v) for p, v in sampler.peak.items()),
                            key=lambda x: x[0]),
            "versions": f"dask {dask.__version__}, distributed {distributed.__version__}, "
                        f"xarray {xr.__version__}, zarr {zarr.__version__}, "
                        f"numpy {np.__version__}",
        }
    finally:
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)


def table(args: argparse.Namespace, r: dict) -> str:
    from dask.utils import parse_bytes

    limit = parse_bytes(args.memory_limit)
    total_limit = limit * args.workers
    chunk_mib = int(np.prod(r["chunks"])) * 8 / 2**20
    rows = [
        "| quantity | value |",
        "|---|---|",
        f"| input dataset | {r['in_bytes'] / GIB:.2f} GiB float64, shape {r['shape']}, "
        f"chunks {r['chunks']} ({chunk_mib:.0f} MiB) |",
        f"| output | {r['out_bytes'] / GIB:.2f} GiB (df_dy, df_dx) |",
        f"| workers × memory limit | {args.workers} × {args.memory_limit} = "
        f"{total_limit / GIB:.2f} GiB (dataset = {r['in_bytes'] / total_limit:.1f}× that) |",
        f"| threads per worker | {args.threads_per_worker} |",
    ]
    for label, peak in r["peaks"]:
        rows.append(f"| peak RSS: {label} | {peak / 2**20:,.0f} MiB |")
    rows += [
        f"| wall time of the command | {r['wall']:.1f} s |",
        f"| streaming time (chunks computed and written) | {r['stream_s']:.1f} s |",
        f"| throughput (input read) | {r['in_bytes'] / r['stream_s'] / 1e6:,.0f} MB/s |",
        f"| throughput (input + output bytes) | "
        f"{(r['in_bytes'] + r['out_bytes']) / r['stream_s'] / 1e6:,.0f} MB/s |",
    ]
    return "\n".join(rows)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size-gib", type=float, default=8.0)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--threads-per-worker", type=int, default=1)
    p.add_argument("--memory-limit", default="1GiB")
    p.add_argument("--ny", type=int, default=1024)
    p.add_argument("--nx", type=int, default=1024)
    p.add_argument("--tchunk", type=int, default=4, help="time steps per chunk")
    p.add_argument("--data-dir", help="where to put the data (deleted afterwards)")
    p.add_argument("--keep", action="store_true", help="keep the data directory")
    p.add_argument("--no-write-md", action="store_true", help="do not write out_of_core.md")
    args = p.parse_args()
    r = run(args)
    command = "nice python benchmarks/out_of_core.py " + " ".join(sys.argv[1:])
    text = (
        "# Out of core: `daskgrad gradient` on a dataset larger than worker memory\n\n"
        f"Command: `{command}`  \n"
        f"Machine: {machine()}  \n"
        f"Versions: {r['versions']}  \n"
        f"Dataset written in {r['t_make']:.0f} s (not part of the timings).\n\n"
        + table(args, r)
        + "\n\nThe command printed: `" + r["stdout"] + "`\n\n"
        "Peak RSS is sampled every 0.1 s with psutil for the command and every process it "
        "starts. Memory stays bounded by chunk size × workers because the command submits "
        "output chunks in batches (at most two in flight) and each task writes its block "
        "straight into its Zarr chunk.\n"
    )
    print(text)
    if not args.no_write_md:
        (Path(__file__).with_suffix(".md")).write_text(text)


if __name__ == "__main__":
    main()
