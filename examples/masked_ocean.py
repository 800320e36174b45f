"""Gradient of a sea surface temperature with land: ``nan_policy='propagate'`` vs ``'omit'``.

Builds an SST-like field on a regular 2° latitude/longitude grid (80°S to 80°N, the
whole circle of longitude) with land as NaN: a few smooth continents (one across the
0°/360° seam, one cut by chunk boundaries in both directions), islands of one and two
points. The Dataset is Dask-backed (3 x 3 chunks), and the gradient magnitude
``|grad SST|`` per metre on the sphere (``geographic=True``: eastward and northward
derivatives) is computed lazily through the ``grad`` accessor, once with each policy:

- ``"propagate"`` is ``numpy.gradient``'s answer: the central difference next to
  land reads a NaN, so every coast loses a fringe of ocean points;
- ``"omit"`` treats land as gaps: each run of ocean points is differentiated alone
  (one-sided at the coast), and only runs of a single point have no derivative.

It prints how many ocean points keep a finite ``|grad SST|`` under each policy and
checks that away from the coast both give the same numbers exactly, then saves the
two maps side by side to a PNG file.

Usage::

    python examples/masked_ocean.py [OUTPUT.png]

(default ``docs/masked_ocean.png``). Needs matplotlib (``pip install daskgrad[plot]``),
xarray and Dask.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import xarray as xr

import daskgrad  # noqa: F401  (registers the ``grad`` accessor)

#: Dask chunk sizes: 3 chunks along each dimension of the 81 x 180 grid
CHUNKS = {"latitude": 27, "longitude": 60}
#: (centre latitude, centre longitude, half-width in longitude, half-height in latitude)
CONTINENTS = [
    (45.0, 255.0, 38.0, 22.0),  # north-west
    (-18.0, 298.0, 16.0, 30.0),  # south-west
    (8.0, 12.0, 26.0, 34.0),  # across the 0°/360° seam
    (50.0, 95.0, 58.0, 17.0),  # north-east
    (-26.0, 128.0, 20.0, 12.0),  # cut by the chunk boundaries at 26°S and 120°E
]
#: land points of the islands, (latitude, longitude): three of one point, two of two, and
#: two of one point with a strait one point wide between them
ISLANDS = [(-40.0, 200.0), (0.0, 180.0), (20.0, 330.0)]
ISLANDS += [(24.0, 200.0), (24.0, 202.0), (-52.0, 60.0), (-54.0, 60.0)]
ISLANDS += [(-60.0, 100.0), (-60.0, 104.0)]
#: colours of the maps: land, and ocean points without a finite derivative
LAND, MISSING = "0.62", "#e8304a"


def make_dataset(step: float = 2.0) -> tuple[xr.Dataset, np.ndarray]:
    """Return (the Dask-backed Dataset with ``sst`` in K, the land mask as NumPy)."""
    lat = np.arange(-80.0, 80.0 + step / 2, step)
    lon = np.arange(0.0, 360.0, step)
    la, lo = np.meshgrid(lat, lon, indexing="ij")
    land = np.zeros(la.shape, dtype=bool)
    for lat0, lon0, a, b in CONTINENTS:
        x = ((lo - lon0 + 180.0) % 360.0 - 180.0) / a  # east of the centre, across the seam
        y = (la - lat0) / b
        wobble = 1.0 + 0.18 * np.sin(3.0 * np.arctan2(y, x) + lon0)  # a smooth, uneven coast
        land |= x**2 + y**2 < wobble**2
    for lat0, lon0 in ISLANDS:
        land[np.isclose(la, lat0) & np.isclose(lo, lon0)] = True

    phi, lam = np.deg2rad(la), np.deg2rad(lo)
    sst = 271.35 + 30.0 * np.cos(phi) ** 2  # warm tropics, cold poles
    sst += 2.5 * np.tanh((la - 38.0 - 6.0 * np.sin(2.0 * lam)) / 3.0)  # a meandering front
    sst -= 2.5 * np.tanh((la + 45.0 + 4.0 * np.cos(3.0 * lam)) / 4.0)  # another one south
    sst += 0.8 * np.sin(5.0 * lam) * np.sin(4.0 * phi) ** 2  # eddies
    sst[land] = np.nan

    ds = xr.Dataset(
        {
            "sst": (
                ("latitude", "longitude"),
                sst,
                {"units": "K", "long_name": "sea surface temperature"},
            )
        },
        coords={
            "latitude": ("latitude", lat, {"units": "degrees_north", "long_name": "latitude"}),
            "longitude": ("longitude", lon, {"units": "degrees_east", "long_name": "longitude"}),
        },
    )
    return ds.chunk(CHUNKS), land


def gradient_magnitude(ds: xr.Dataset, nan_policy: str) -> xr.Dataset:
    """Lazy eastward and northward derivatives (K m-1) and ``|grad SST|`` in K per 100 km."""
    g = ds.grad.gradient(["latitude", "longitude"], geographic=True, nan_policy=nan_policy)
    east, north = g.dsst_dlongitude, g.dsst_dlatitude
    return xr.Dataset({"east": east, "north": north, "magnitude": np.hypot(east, north) * 1e5})


def _neighbours(ocean: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(ocean on both sides along latitude, along longitude); the poleward ends of the
    grid count as ocean (one-sided differences there under both policies), longitude
    wraps around."""
    padded = np.pad(ocean, ((1, 1), (0, 0)), constant_values=True)
    lat_ok = padded[:-2] & padded[2:]
    lon_ok = np.roll(ocean, 1, axis=1) & np.roll(ocean, -1, axis=1)
    return lat_ok, lon_ok


def _single_point_runs(ocean: np.ndarray) -> np.ndarray:
    """Ocean points that are a run of one along latitude or along longitude (land, or
    the end of the grid, on both sides): no difference of any order exists there."""
    padded = np.pad(ocean, ((1, 1), (0, 0)), constant_values=False)
    alone_lat = ~padded[:-2] & ~padded[2:]
    alone_lon = ~np.roll(ocean, 1, axis=1) & ~np.roll(ocean, -1, axis=1)
    return ocean & (alone_lat | alone_lon)


def compute(step: float = 2.0) -> tuple[xr.Dataset, xr.Dataset, np.ndarray]:
    """Return (propagate, omit) results, computed, and the land mask; print the checks."""
    ds, land = make_dataset(step)
    lazy = {policy: gradient_magnitude(ds, policy) for policy in ("propagate", "omit")}
    mag = lazy["omit"].magnitude
    cut = []  # the chunk boundaries with land on both sides somewhere along them
    for axis, (dim, sizes) in enumerate(zip(ds.sst.dims, ds.sst.chunks, strict=True)):
        for b in np.cumsum(sizes[:-1]):
            if (land.take(b - 1, axis=axis) & land.take(b, axis=axis)).any():
                cut.append(f"{dim} {float(ds[dim][b - 1]):g}|{float(ds[dim][b]):g}")
    print(
        f"grid {ds.sizes['latitude']} x {ds.sizes['longitude']} ({step:g}°), "
        f"chunks {ds.sst.chunks}; lazy: {type(mag.data).__module__.split('.')[0]} "
        f"{type(mag.data).__name__}, units {lazy['omit'].east.attrs['units']}"
    )
    print(f"chunk boundaries through land: {', '.join(cut)}")
    prop, omit = lazy["propagate"].compute(), lazy["omit"].compute()
    eager = {policy: gradient_magnitude(ds.compute(), policy) for policy in lazy}  # NumPy
    same = all(
        np.array_equal(r[k].values, eager[p][k].values, equal_nan=True)
        for p, r in (("propagate", prop), ("omit", omit))
        for k in r
    )
    print(f"Dask result equals the NumPy-backed one, chunk boundaries and all: {same}")

    ocean = ~land
    finite_prop = np.isfinite(prop.magnitude.values)
    finite_omit = np.isfinite(omit.magnitude.values)
    single = _single_point_runs(ocean)
    lat_ok, lon_ok = _neighbours(ocean)
    interior = ocean & lat_ok & lon_ok
    n = int(ocean.sum())
    kept_prop, kept_omit = int((finite_prop & ocean).sum()), int((finite_omit & ocean).sum())
    print(f"ocean points: {n} of {ocean.size}")
    print(
        f"ocean points with a finite |grad SST|, nan_policy='propagate': {kept_prop} "
        f"(coastal fringe lost: {n - kept_prop})"
    )
    print(
        f"ocean points with a finite |grad SST|, nan_policy='omit': {kept_omit} "
        f"(lost: {n - kept_omit}, the ocean points that are a run of one point)"
    )
    print(
        "omit keeps every ocean point but the runs of one point: "
        f"{np.array_equal(finite_omit, ocean & ~single)}"
    )
    print(
        "propagate keeps exactly the ocean points whose neighbours are all ocean: "
        f"{np.array_equal(finite_prop & ocean, interior)}"
    )
    print(
        "land points with a finite |grad SST| (one-point islands: the central difference "
        f"skips the point itself): propagate {int((finite_prop & land).sum())}, "
        f"omit {int((finite_omit & land).sum())}"
    )
    agree = all(
        np.array_equal(prop[k].values[interior], omit[k].values[interior])
        for k in ("east", "north", "magnitude")
    )
    print(
        f"away from the coast ({int(interior.sum())} points whose neighbours are all ocean) "
        f"both policies agree exactly: {agree}"
    )
    return prop, omit, land


def plot(prop: xr.Dataset, omit: xr.Dataset, land: np.ndarray, output: Path) -> None:
    """The two maps of ``|grad SST|`` side by side, saved to ``output``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    cmap = plt.get_cmap("viridis").with_extremes(bad=MISSING)  # no finite derivative
    grey = ListedColormap([LAND])
    vmax = float(np.nanpercentile(omit.magnitude, 99.5))
    lon, lat = omit.longitude, omit.latitude
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    panels = [(prop, "nan_policy='propagate' (NumPy)"), (omit, "nan_policy='omit'")]
    ocean = ~land
    for ax, (result, title) in zip(axes, panels, strict=True):
        mesh = ax.pcolormesh(
            lon, lat, result.magnitude, cmap=cmap, vmin=0, vmax=vmax, shading="nearest"
        )
        ax.pcolormesh(
            lon, lat, np.where(land, 1.0, np.nan), cmap=grey, vmin=0, vmax=1, shading="nearest"
        )
        kept = int((np.isfinite(result.magnitude.values) & ocean).sum())
        ax.set(title=title, xlabel="longitude (°E)", ylabel="latitude (°N)", aspect="equal")
        ax.text(
            0.99,
            0.02,
            f"finite at {kept} of {int(ocean.sum())} ocean points",
            transform=ax.transAxes,
            ha="right",
            va="bottom",
            fontsize=8,
            bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none", "pad": 2},
        )
        ax.set_xticks(range(0, 361, 60))
        ax.set_yticks(range(-80, 81, 40))
    fig.colorbar(
        mesh, ax=axes, location="bottom", shrink=0.45, aspect=40, label="|∇SST| (K per 100 km)"
    )
    fig.legend(
        handles=[
            Patch(color=LAND, label="land (NaN)"),
            Patch(color=MISSING, label="ocean without a finite |∇SST|"),
        ],
        loc="outside lower center",
        ncols=2,
        fontsize=8,
        frameon=False,
    )
    fig.suptitle("daskgrad: |∇SST| on the sphere (geographic=True) of an ocean with land")
    output.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(output, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", nargs="?", default="docs/masked_ocean.png", type=Path)
    args = parser.parse_args(argv)
    prop, omit, land = compute()
    plot(prop, omit, land, args.output)
    print(f"wrote {args.output}")
    return args.output


if __name__ == "__main__":
    main()
