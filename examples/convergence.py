"""Error against analytic spherical fields, and its convergence order, for daskgrad's
geographic derivatives, divergence and vorticity.

Fields (radius R, U = 20 m s-1): f = cos^2(phi) cos(2 lam) + sin(phi) (gradient);
solid-body rotation u = U cos(phi), v = 0 (vorticity 2 U sin(phi)/R, divergence 0);
winds from a degree-2 spherical harmonic stream function / velocity potential
(vorticity / divergence = -6 psi / R^2). Errors are max |error| over |lat| <= 60,
on global grids of 10, 5, 2.5 and 1.25 degrees; the ratio of successive errors is
~4 for a second-order method.

Run from the repository root: ``python examples/convergence.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import daskgrad  # noqa: E402
from tests.test_geo import harmonic, max_error  # noqa: E402
from tests.test_vector import harmonic_flow, solid_body  # noqa: E402


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


def main() -> None:
    rows = {nlat: errors(nlat) for nlat in (19, 37, 73, 145)}
    keys = list(rows[19])
    print(f"{'grid':<14}" + "".join(f"{k:>13}" for k in keys))
    for nlat, row in rows.items():
        print(f"{180 / (nlat - 1):<5g} degrees " + "".join(f"{row[k]:13.3e}" for k in keys))
    sizes = list(rows)
    for a, b in zip(sizes, sizes[1:], strict=False):
        ratios = "".join(f"{rows[a][k] / rows[b][k]:13.3f}" for k in keys)
        print(f"ratio {180 / (a - 1):g}/{180 / (b - 1):g}".ljust(14) + ratios)


if __name__ == "__main__":
    main()
