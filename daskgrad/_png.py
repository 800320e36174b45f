"""The demo's PNG map of the gradient magnitude (matplotlib, Agg backend)."""

from __future__ import annotations

__all__ = ["write_magnitude_png"]


def write_magnitude_png(path: str, png: str) -> None:
    """Map of the magnitude of the demo's t2m gradient at the first time (matplotlib Agg)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    import xarray as xr

    with xr.open_zarr(path) as ds:
        dy = ds["dt2m_dlatitude"].isel(time=0).load()
        dx = ds["dt2m_dlongitude"].isel(time=0).load()
    magnitude = np.hypot(dx, dy) * 1e5  # K m-1 -> K per 100 km
    fig, ax = plt.subplots(figsize=(9, 4.5), layout="constrained")
    mesh = ax.pcolormesh(
        magnitude["longitude"], magnitude["latitude"], magnitude, shading="nearest", cmap="magma"
    )
    fig.colorbar(mesh, ax=ax, label="|grad t2m| (K per 100 km)")
    ax.set(
        xlabel="longitude (degrees east)",
        ylabel="latitude (degrees north)",
        title=f"2 m temperature gradient magnitude, {str(dy['time'].values)[:16]}",
    )
    fig.savefig(png, dpi=100)
    plt.close(fig)
