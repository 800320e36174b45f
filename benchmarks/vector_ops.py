"""Issue 11, targets 2 and 3: tasks per chunk, memory and speed of the geographic
operators, beside their peers, as ratios.

Usage (from the repository root)::

    python benchmarks/vector_ops.py            # (100, 361, 720) float32 winds
    python benchmarks/vector_ops.py --quick    # (10, 73, 144): the smoke test

Reported:

- tasks per chunk (merged unoptimised graph of the outputs minus the inputs' own
  tasks, per chunk of one input) of ``.grad.gradient(geographic=True)`` along lat+lon
  and of ``vorticity``/``divergence`` on (8, 73, 144) in (1, 37, 72) chunks;
- in-memory peak RSS of ``vorticity`` on NumPy winds, in a fresh subprocess, above
  the RSS once the inputs exist and the kernels are warm, as a ratio to
  inputs + output;
- Dask-backed winds in chunks ``{"time": 10}`` on the threaded scheduler: daskgrad
  against the operator composed from xarray's ``differentiate`` as a user writes it;
- NumPy winds: daskgrad against ``metpy.calc.vorticity`` with its grid deltas and map
  factors precomputed on the same sphere (MetPy is a benchmark-only dependency; the
  relative RMS difference of the two answers for |lat| <= 80 is printed beside).

Times are the best of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _measure import environment, graph_tasks, time_it  # noqa: E402

import daskgrad  # noqa: E402
from daskgrad._geo import EARTH_RADIUS as R  # noqa: E402
from daskgrad.datasets import sphere_grid  # noqa: E402


def winds(shape: tuple[int, int, int], dtype: str = "float32", chunks: dict | None = None):
    """Smooth winds (a degree-2 wave drifting in time on a zonal jet), so that the
    operators' discretisations agree to well under 1 % and the comparison with MetPy
    checks that both compute the same thing; the timings do not depend on the values."""
    import xarray as xr

    g = sphere_grid(shape[1], shape[2])
    dims = ("time", "latitude", "longitude")
    coords = {"latitude": g.latitude, "longitude": g.longitude}
    t = np.arange(shape[0])[:, None, None]
    phi = np.deg2rad(g.latitude.values)[None, :, None]
    lam = np.deg2rad(g.longitude.values)[None, None, :]
    u = 10 * np.cos(phi) + 5 * np.sin(2 * lam + 0.1 * t) * np.cos(phi) ** 2
    v = 3 * np.sin(3 * lam - 0.05 * t) * np.cos(phi)
    u, v = (
        xr.DataArray(x.astype(dtype), dims=dims, coords=coords, name=n)
        for x, n in ((u, "u"), (v, "v"))
    )
    return (u, v) if chunks is None else (u.chunk(chunks), v.chunk(chunks))


def tasks_per_chunk() -> dict[str, float]:
    u, v = winds((8, 73, 144), "float64", {"time": 1, "latitude": 37, "longitude": 72})
    n_in, chunks = graph_tasks([u.data]), int(np.prod(u.data.numblocks))
    g = u.grad.gradient(["longitude", "latitude"], geographic=True)
    out = {"geographic gradient, lat+lon (k = 2)": [x.data for x in g.data_vars.values()]}
    out["vorticity"] = [daskgrad.vorticity(u, v, geographic=True).data]
    out["divergence"] = [daskgrad.divergence(u, v, geographic=True).data]
    return {
        k: (graph_tasks(a) - (1 if k.startswith("geo") else 2) * n_in) / chunks
        for k, a in out.items()
    }


def xarray_vorticity(u, v):
    """The operator from xarray's differentiate, degrees to radians, as a user writes it."""
    cos = np.cos(np.deg2rad(u.latitude))
    dv = v.differentiate("longitude") * (180 / np.pi)
    du = (u * cos).differentiate("latitude") * (180 / np.pi)
    return (dv - du) / (R * cos)


def metpy_args(u):
    import pyproj
    from metpy.calc.tools import nominal_lat_lon_grid_deltas
    from metpy.units import units

    geod = pyproj.Geod(a=R, b=R)
    lat, lon = u.latitude.values, u.longitude.values
    dx, dy = nominal_lat_lon_grid_deltas(lon * units.degree, lat * units.degree, geod)
    crs = pyproj.CRS.from_proj4(f"+proj=longlat +R={R} +no_defs")
    lon2, lat2 = np.meshgrid(lon, lat)
    factors = pyproj.Proj(crs).get_factors(lon2, lat2)
    return {
        "dx": dx,
        "dy": dy,
        "parallel_scale": factors.parallel_scale,
        "meridional_scale": factors.meridional_scale,
    }


def rss_ratio(shape: tuple[int, int, int]) -> dict[str, float]:
    """Run :func:`_rss_child` in a fresh process (peak RSS is per process)."""
    code = f"import vector_ops as m; m._rss_child({shape!r})"
    env_path = str(Path(__file__).resolve().parent)
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=env_path, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def _rss_child(shape: tuple[int, int, int]) -> None:
    import psutil

    small_u, small_v = winds((4, 181, 360))  # above the threaded kernel's minimum size
    daskgrad.vorticity(small_u, small_v, geographic=True)  # kernels compiled / loaded
    u, v = winds(shape)
    from _measure import RssSampler

    proc = psutil.Process()
    with RssSampler([proc.pid]) as s:
        out = daskgrad.vorticity(u, v, geographic=True)
    sizes = u.nbytes + v.nbytes + out.nbytes
    print(
        json.dumps(
            {
                "growth_bytes": s.peak - s.baseline,
                "inputs_plus_output": sizes,
                "peak_over_inputs_plus_output": (s.peak - s.baseline + u.nbytes + v.nbytes) / sizes,
            }
        )
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    shape = (10, 73, 144) if args.quick else (100, 361, 720)
    import dask
    import metpy.calc as mpcalc

    print("## Environment\n")
    for k, val in environment().items():
        print(f"- {k}: {val}")
    print(f"\n## Geographic operators, {shape} float32 winds\n")
    print("| measure | value | target | met |\n| --- | --- | --- | --- |")
    for name, per in tasks_per_chunk().items():
        target = 4 if name.startswith("geo") else 3
        print(f"| tasks per chunk, {name} | {per:.2f} | <= {target} | {per <= target} |")
    r = rss_ratio(shape)
    ratio = r["peak_over_inputs_plus_output"]
    print(
        f"| vorticity in memory: peak RSS / (inputs + output) | {ratio:.2f} | <= 1.2 | "
        f"{ratio <= 1.2} |"
    )
    u, v = winds(shape, chunks={"time": 10})
    with dask.config.set(scheduler="threads"):
        ours, _ = time_it(lambda: daskgrad.vorticity(u, v, geographic=True).compute(), args.repeat)
        theirs, _ = time_it(lambda: xarray_vorticity(u, v).compute(), args.repeat)
    print(
        f"| Dask {{'time': 10}}: xarray differentiate / daskgrad | {theirs / ours:.2f} "
        f"({theirs:.2f} s / {ours:.2f} s) | >= 3 | {theirs / ours >= 3} |"
    )
    u, v = winds(shape)
    kw = metpy_args(u)
    from metpy.units import units

    uq, vq = u.values * units("m/s"), v.values * units("m/s")
    ours, _ = time_it(lambda: daskgrad.vorticity(u, v, geographic=True), args.repeat)
    theirs, _ = time_it(lambda: mpcalc.vorticity(uq, vq, **kw), args.repeat)
    zeta = daskgrad.vorticity(u, v, geographic=True, edge_order=2).values
    ref = np.asarray(mpcalc.vorticity(uq, vq, **kw).m)
    band = np.abs(u.latitude.values) <= 80
    rms = float(np.sqrt(np.mean((zeta[:, band] - ref[:, band]) ** 2) / np.mean(ref[:, band] ** 2)))
    print(
        f"| NumPy: metpy.calc.vorticity / daskgrad | {theirs / ours:.2f} ({theirs:.2f} s / "
        f"{ours:.3f} s; answers differ by {rms:.1e} rel. RMS, edge_order=2, |lat| <= 80) | "
        f">= 10 | {theirs / ours >= 10} |"
    )


if __name__ == "__main__":
    main()
