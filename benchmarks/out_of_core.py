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
        coords={"time": np.arange(ntime), "y": np.arange(ny) * 1000.0, "x": np.arange(nx) * 1000.0},
    )
    template.to_zarr(path, mode="w-", compute=False, zarr_format=2, consolidated=True)
    arr = zarr.open_array(path, path="f", mode="r+")
    yy, xx = np.meshgrid(np.linspace(0, 6, ny), np.linspace(0, 6, nx), indexing="ij")
    base = np.sin(yy) * np.cos(xx)

    def fill(start: int) -> None:
        rng = np.random.default_rng(start)
        block = base[None] + 0.1 * rng.standard_normal((tchunk, ny, nx))
        arr[start : start + tchunk] = block

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
            return "main process (client, scheduler, nannies)"
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
    return (
        f"{cpu}, {os.cpu_count()} cores, {psutil.virtual_memory().total / GIB:.0f} GiB RAM, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}"
    )


BASELINE = """
import sys
import xarray as xr
from distributed import Client, LocalCluster
import daskgrad.xarray

src, out, workers, threads, limit = sys.argv[1:]
with LocalCluster(n_workers=int(workers), threads_per_worker=int(threads), memory_limit=limit,
                  host="127.0.0.1", dashboard_address="127.0.0.1:0") as cluster, Client(cluster):
    ds = xr.open_zarr(src)
    ds.grad.gradient(["y", "x"]).to_zarr(out, zarr_format=2, consolidated=True)
"""


def measure(cmd: list[str]) -> tuple[float, list, str]:
    """Run ``cmd``; return its wall time, the peak RSS per process and its stdout."""
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p),
    )
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    sampler = RssSampler(proc.pid)
    sampler.start()
    stdout, stderr = proc.communicate()
    wall = time.perf_counter() - t0
    sampler.stop.set()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[:4]} failed ({proc.returncode}):\n{stderr}")
    peaks = sorted((sampler.label[p], v) for p, v in sampler.peak.items())
    return wall, peaks, stdout.strip()


def run(args: argparse.Namespace) -> dict:
    import dask
    import distributed
    import xarray as xr
    import zarr

    data_dir = Path(args.data_dir or tempfile.mkdtemp(prefix="daskgrad-ooc-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    src, out = data_dir / "input.zarr", data_dir / "gradient.zarr"
    cluster = [str(args.workers), str(args.threads_per_worker), args.memory_limit]
    try:
        t0 = time.perf_counter()
        shape, chunks = make_input(src, args.size_gib, args.ny, args.nx, args.tchunk)
        t_make = time.perf_counter() - t0
        cmd = [sys.executable, "-m", "daskgrad", "gradient", str(src), str(out), "--dim", "y"]
        cmd += ["--dim", "x", "--workers", cluster[0], "--threads-per-worker", cluster[1]]
        cmd += ["--memory-limit", cluster[2], "--no-dashboard", "--no-progress"]
        wall, peaks, stdout = measure(cmd)
        stream_s = float(stdout.rsplit(" in ", 1)[1].split(" s")[0])
        with xr.open_zarr(out) as ds:
            out_bytes = sum(v.nbytes for v in ds.data_vars.values())
            assert np.isfinite(ds["df_dx"].isel(time=-1).values).all()
        shutil.rmtree(out)
        baseline = None
        if args.baseline:
            baseline = measure([sys.executable, "-c", BASELINE, str(src), str(out), *cluster])
            shutil.rmtree(out)
        return {
            "shape": shape,
            "chunks": chunks,
            "in_bytes": int(np.prod(shape)) * 8,
            "out_bytes": out_bytes,
            "t_make": t_make,
            "wall": wall,
            "stream_s": stream_s,
            "stdout": stdout,
            "peaks": peaks,
            "baseline": baseline,
            "versions": f"dask {dask.__version__}, distributed {distributed.__version__}, "
            f"xarray {xr.__version__}, zarr {zarr.__version__}, numpy {np.__version__}",
        }
    finally:
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)


def _peak_rows(peaks: list, workers: int) -> list[tuple[str, int]]:
    rows, n = [], 0
    for label, peak in peaks:
        if label == "worker":
            n += 1
            label = f"worker {n}" + (" (a restarted worker)" if n > workers else "")
        rows.append((label, peak))
    return rows


def table(args: argparse.Namespace, r: dict) -> str:
    from dask.utils import parse_bytes

    limit = parse_bytes(args.memory_limit)
    total_limit = limit * args.workers
    chunk_mib = int(np.prod(r["chunks"])) * 8 / 2**20
    mib = 2**20
    head = [
        f"Input: {r['in_bytes'] / GIB:.2f} GiB float64, shape {r['shape']}, chunks "
        f"{r['chunks']} ({chunk_mib:.0f} MiB each); output {r['out_bytes'] / GIB:.2f} GiB "
        f"(`df_dy`, `df_dx`). Cluster: {args.workers} workers × {args.threads_per_worker} "
        f"thread(s), memory limit {args.memory_limit} each = {total_limit / GIB:.2f} GiB in all: "
        f"the dataset is **{r['in_bytes'] / total_limit:.1f}×** the workers' memory.",
        "",
    ]
    base = r["baseline"]
    cols = "| | `daskgrad gradient` |" + (" baseline: one `to_zarr` graph |" if base else "")
    rows = [cols, "|---|---|" + ("---|" if base else "")]
    ours = dict(_peak_rows(r["peaks"], args.workers))
    theirs = dict(_peak_rows(base[1], args.workers)) if base else {}
    for label in list(ours) + [k for k in theirs if k not in ours]:
        cells = [f"{ours[label] / mib:,.0f} MiB" if label in ours else "–"]
        if base:
            cells.append(f"{theirs[label] / mib:,.0f} MiB" if label in theirs else "–")
        rows.append(f"| peak RSS, {label} | " + " | ".join(cells) + " |")
    rate = (r["in_bytes"] + r["out_bytes"]) / 1e6
    rows.append(
        f"| wall time (start to exit) | {r['wall']:.1f} s |"
        + (f" {base[0]:.1f} s |" if base else "")
    )
    rows.append(
        f"| throughput, input + output bytes / wall time | {rate / r['wall']:,.0f} MB/s |"
        + (f" {rate / base[0]:,.0f} MB/s |" if base else "")
    )
    rows.append(
        f"| streaming time (compute + write, no startup) | {r['stream_s']:.1f} s |"
        + (" |" if base else "")
    )
    rows.append(
        f"| throughput, input read / streaming time | "
        f"{r['in_bytes'] / r['stream_s'] / 1e6:,.0f} MB/s |" + (" |" if base else "")
    )
    return "\n".join(head + rows)


def _portable(argv: list[str]) -> list[str]:
    """The arguments without ``--data-dir DIR`` (a path of this machine; the default, a
    fresh temporary directory, does the same), for the reproduce command.

    >>> _portable(["--size-gib", "8", "--data-dir", "/tmp/x", "--data-dir=/y", "--keep"])
    ['--size-gib', '8', '--keep']
    """
    out: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--data-dir":
            skip = True
        elif not arg.startswith("--data-dir="):
            out.append(arg)
    return out


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
    p.add_argument(
        "--baseline",
        action="store_true",
        help="also run the accessor's result through one xarray to_zarr on the same cluster",
    )
    args = p.parse_args()
    r = run(args)
    command = "nice python benchmarks/out_of_core.py " + " ".join(_portable(sys.argv[1:]))
    text = (
        "# Out of core: `daskgrad gradient` on a dataset larger than worker memory\n\n"
        f"Command: `{command}`  \n"
        f"Machine: {machine()}  \n"
        f"Versions: {r['versions']}  \n"
        f"Dataset written in {r['t_make']:.0f} s (not part of the timings).\n\n"
        + table(args, r)
        + "\n\nThe command printed: `"
        + r["stdout"]
        + "`\n\n"
        "How it was measured: the dataset is written chunk by chunk first (never in memory). "
        "Peak RSS is sampled every 0.1 s with psutil for the command and every process it "
        "starts (a spike shorter than that can be missed; the nanny restarts a worker that "
        "crosses 95 % of its limit, which shows up as an extra worker row). A worker that "
        "has imported the stack and compiled the numba kernel holds about 250 MiB before "
        "any data. Memory stays bounded by chunk size × workers because the command sends "
        "output chunks to the cluster in batches (8 per worker thread, at most two batches "
        "in flight) and each task writes its block straight into its own Zarr chunk. The "
        "baseline column (with `--baseline`) runs the same lazy accessor result through one "
        "`xarray.Dataset.to_zarr` call on an identical LocalCluster.\n"
    )
    print(text)
    if not args.no_write_md:
        (Path(__file__).with_suffix(".md")).write_text(text)


if __name__ == "__main__":
    main()
