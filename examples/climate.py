"""Geographic gradient magnitude and vorticity of a climate-style dataset, as PNG maps.

Builds the synthetic ERA5-like sample :func:`daskgrad.datasets.climate`
(Dask-backed, one chunk per day), computes on the sphere

- the 2 m temperature gradient magnitude ``|grad T|`` in K per 100 km, and
- the relative vorticity of the 10 m wind in 1e-5 s-1,

lazily through the ``grad`` accessor and :func:`daskgrad.vorticity`, and saves
both maps for the first day to a PNG file.

Usage::

    python examples/climate.py [OUTPUT.png] [--nlat 73 --nlon 144]

Needs matplotlib (``pip install daskgrad[plot]``) and Dask.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import daskgrad
from daskgrad.datasets import climate


def compute(nlat: int, nlon: int):
    """Return (|grad t2m| in K/100 km, vorticity in 1e-5 s-1) for the first day, computed."""
    ds = climate(ntime=2, nlat=nlat, nlon=nlon, chunks={"time": 1})
    g = ds.t2m.grad.gradient(["latitude", "longitude"], geographic=True)  # lazy, per metre
    magnitude = np.hypot(g.dt2m_dlongitude, g.dt2m_dlatitude) * 1e5  # K per 100 km
    zeta = daskgrad.vorticity(ds.u10, ds.v10, geographic=True)  # lazy, s-1
    units = g.dt2m_dlatitude.attrs["units"], zeta.attrs["units"]
    print(f"units: gradient {units[0]}, vorticity {units[1]}; chunks {zeta.chunks}")
    return magnitude.isel(time=0).compute(), (zeta * 1e5).isel(time=0).compute()


def plot(magnitude, zeta, output: Path) -> None:
    """Two maps side by side, saved to ``output``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 3.4), constrained_layout=True)
    limit = float(np.nanpercentile(np.abs(zeta), 99.5))
    panels = [
        (magnitude, "|∇ t2m| (K per 100 km)", "viridis", 0, np.nanpercentile(magnitude, 99.5)),
        (zeta, "relative vorticity of 10 m wind (1e-5 s-1)", "RdBu_r", -limit, limit),
    ]
    for ax, (field, title, cmap, vmin, vmax) in zip(axes, panels, strict=True):
        mesh = ax.pcolormesh(
            field.longitude,
            field.latitude,
            field,
            cmap=cmap,
            vmin=vmin,
            vmax=vmax,
            shading="nearest",
        )
        fig.colorbar(mesh, ax=ax, shrink=0.9)
        ax.set(title=title, xlabel="longitude (°E)", ylabel="latitude (°N)", aspect="equal")
        ax.set_xticks(range(0, 361, 60))
        ax.set_yticks(range(-90, 91, 30))
    fig.suptitle("daskgrad: geographic derivatives of daskgrad.datasets.climate() (day 1)")
    fig.savefig(output, dpi=80)
    plt.close(fig)


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", nargs="?", default="climate.png", type=Path)
    parser.add_argument("--nlat", type=int, default=73)
    parser.add_argument("--nlon", type=int, default=144)
    args = parser.parse_args(argv)
    magnitude, zeta = compute(args.nlat, args.nlon)
    plot(magnitude, zeta, args.output)
    print(f"wrote {args.output}")
    return args.output


if __name__ == "__main__":
    main()
