"""Error against analytic spherical fields, and its convergence order, for daskgrad's
geographic derivatives, divergence and vorticity.

Fields (radius R, U = 20 m s-1): f = cos^2(phi) cos(2 lam) + sin(phi) (gradient);
solid-body rotation u = U cos(phi), v = 0 (vorticity 2 U sin(phi)/R, divergence 0);
winds from a degree-2 spherical harmonic stream function / velocity potential
(vorticity / divergence = -6 psi / R^2). Errors are max |error| over |lat| <= 60,
on global grids of 10, 5, 2.5 and 1.25 degrees; the ratio of successive errors is
~4 for a second-order method.

Curvilinear rows: the same kind of fields (f = cos(phi) sin(2 lam); winds from
psi = U R cos(phi) sin(lam) and chi = U R cos(phi) cos(lam), so vorticity/divergence =
-2 psi/R^2, -2 chi/R^2) on a rotated-pole grid (2-D true lat/lon from
``daskgrad.datasets.rotated_pole_grid``, pole at 40N 170W: the domain over Europe;
then at 40N 0E: the domain across the +-180 meridian), nested grids of 4, 2, 1 and
0.5 rotated degrees; errors at the coarsest grid's points at least two of its steps
from the edges (the same points at every resolution).

Run: ``python examples/convergence.py`` (needs ``pip install -e ".[io]"``; a few seconds).
"""

from __future__ import annotations

import numpy as np

import daskgrad
from daskgrad.datasets import sphere_grid

R = 6371008.8  # the mean Earth radius (IUGG) in metres, the sphere daskgrad's geographic mode uses
U0 = 20.0  # m s-1


def harmonic(nlat: int, nlon: int):
    """f = cos^2(phi) cos(2 lam) + sin(phi) and its exact spherical gradient (per metre)."""
    g = sphere_grid(nlat, nlon)
    phi, lam = np.deg2rad(g.latitude), np.deg2rad(g.longitude)
    f = (np.cos(phi) ** 2 * np.cos(2 * lam) + np.sin(phi)).rename("f")
    f.attrs = {"units": "K"}
    dfdx = -2 * np.cos(phi) * np.sin(2 * lam) / R
    dfdy = (-np.sin(2 * phi) * np.cos(2 * lam) + np.cos(phi)) / R
    return f.transpose("latitude", "longitude"), dfdx, dfdy


def _wind(u, v):
    u = u.transpose("latitude", "longitude").rename("u")
    v = v.transpose("latitude", "longitude").rename("v")
    u.attrs = {"units": "m s-1", "long_name": "eastward wind"}
    v.attrs = {"units": "m s-1", "long_name": "northward wind"}
    return u, v


def solid_body(nlat: int, nlon: int):
    """u = U cos(phi), v = 0: vorticity 2 U sin(phi) / R, divergence 0."""
    g = sphere_grid(nlat, nlon)
    phi = np.deg2rad(g.latitude)
    u = U0 * np.cos(phi) + 0 * g.longitude
    return (*_wind(u, 0 * u), 2 * U0 * np.sin(phi) / R + 0 * g.longitude)


def harmonic_flow(nlat: int, nlon: int, rotational: bool = True):
    """Wind from psi (or chi) = U R cos^2(phi) cos(2 lam), a degree-2 spherical harmonic.

    Rotational: u = -dpsi/dy, v = dpsi/dx, vorticity = lap(psi) = -6 psi / R^2.
    Divergent: u = dchi/dx, v = dchi/dy, divergence = -6 chi / R^2.
    """
    g = sphere_grid(nlat, nlon)
    phi, lam = np.deg2rad(g.latitude), np.deg2rad(g.longitude)
    s = U0 * R * np.cos(phi) ** 2 * np.cos(2 * lam)
    ddx = -2 * U0 * np.cos(phi) * np.sin(2 * lam)  # d s / dx
    ddy = -U0 * np.sin(2 * phi) * np.cos(2 * lam)  # d s / dy
    lap = -6 * s / R**2
    return (*_wind(-ddy, ddx), lap) if rotational else (*_wind(ddx, ddy), lap)


def max_error(result, exact, max_lat: float = 60.0) -> float:
    """max |result - exact| over |latitude| <= max_lat."""
    return float(abs(result - exact).where(abs(result.latitude) <= max_lat).max())


def errors(nlat: int) -> dict[str, float]:
    """Max errors on a grid of ``nlat`` latitudes (poles included) and 2 (nlat - 1) longitudes."""
    nlon = 2 * (nlat - 1)
    f, dfdx, dfdy = harmonic(nlat, nlon)
    g = f.grad.gradient(geographic=True)
    u, v, zeta = solid_body(nlat, nlon)
    ur, vr, lap_r = harmonic_flow(nlat, nlon, rotational=True)
    ud, vd, lap_d = harmonic_flow(nlat, nlon, rotational=False)
    return {
        "df/dx": max_error(g.df_dlongitude, dfdx),
        "df/dy": max_error(g.df_dlatitude, dfdy),
        "vort(solid)": max_error(daskgrad.vorticity(u, v, geographic=True), zeta),
        "vort(Y22)": max_error(daskgrad.vorticity(ur, vr, geographic=True), lap_r),
        "div(Y22)": max_error(daskgrad.divergence(ud, vd, geographic=True), lap_d),
    }


def rotated_errors(level: int, pole_lon: float) -> dict[str, float]:
    """Max errors on the rotated-pole grid refined ``level`` times (nested)."""
    from daskgrad.datasets import rotated_pole_grid

    step = 2**level
    g = rotated_pole_grid(10 * step + 1, 15 * step + 1, pole_lat=40.0, pole_lon=pole_lon)
    phi, lam = np.deg2rad(g.lat), np.deg2rad(g.lon)
    f = (np.cos(phi) * np.sin(2 * lam)).rename("f")
    u, v = U0 * np.sin(phi) * np.sin(lam), U0 * np.cos(lam)  # from psi
    uc, vc = -U0 * np.sin(lam), -U0 * np.sin(phi) * np.cos(lam)  # from chi
    exact = {
        "df/dx": 2 * np.cos(2 * lam) / R,
        "df/dy": -np.sin(phi) * np.sin(2 * lam) / R,
        "vort(psi)": -2 * U0 * np.cos(phi) * np.sin(lam) / R,
        "div(chi)": -2 * U0 * np.cos(phi) * np.cos(lam) / R,
    }
    grad = f.grad.gradient(geographic=True)
    got = {
        "df/dx": grad.df_dlon,
        "df/dy": grad.df_dlat,
        "vort(psi)": daskgrad.vorticity(u, v, geographic=True),
        "div(chi)": daskgrad.divergence(uc, vc, geographic=True),
    }
    pick = {d: slice(2 * step, -2 * step, step) for d in ("rlat", "rlon")}
    return {k: float(abs(got[k] - exact[k]).isel(pick).max()) for k in exact}


def _table(rows: dict, label) -> None:
    keys = list(next(iter(rows.values())))
    print(f"{'grid':<16}" + "".join(f"{k:>13}" for k in keys))
    for size, row in rows.items():
        print(f"{label(size):<16}" + "".join(f"{row[k]:13.3e}" for k in keys))
    sizes = list(rows)
    for a, b in zip(sizes, sizes[1:], strict=False):
        ratios = "".join(f"{rows[a][k] / rows[b][k]:13.3f}" for k in keys)
        print(f"ratio {label(a).split()[0]}/{label(b).split()[0]}".ljust(16) + ratios)


def main() -> None:
    _table(
        {nlat: errors(nlat) for nlat in (19, 37, 73, 145)}, lambda n: f"{180 / (n - 1):g} degrees"
    )
    for pole_lon, where in ((-170.0, "over Europe"), (0.0, "across +-180")):
        print(f"\nrotated-pole grid, {where} (2-D lat/lon)")
        rows = {level: rotated_errors(level, pole_lon) for level in range(4)}
        _table(rows, lambda k: f"{4 / 2**k:g} rotated deg")


if __name__ == "__main__":
    main()
