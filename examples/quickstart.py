"""A two-minute tour of daskgrad: NumPy, then Dask, then xarray (when installed).

Run: ``python examples/quickstart.py`` (small arrays: it takes a second or two).
"""

from __future__ import annotations

import importlib.util

import numpy as np

import daskgrad


def numpy_tour() -> None:
    print("== NumPy: numpy.gradient's answer, plus periodic axes and the torch form")
    x = np.array([0.0, 0.5, 1.5, 2.0, 3.5])
    f = np.sin(x)
    print("gradient(f)              ", daskgrad.gradient(f))  # per index
    print("gradient(f, x)           ", daskgrad.gradient(f, x))  # per unit of x
    print("numpy.gradient(f, x)     ", np.gradient(f, x))
    print("gradient(f, x, edge_order=2)", daskgrad.gradient(f, x, edge_order=2))
    print("torch form, spacing=(x,) ", daskgrad.gradient(f, spacing=(x,)))
    lon = np.arange(0.0, 360.0, 45.0)
    wave = np.cos(np.deg2rad(lon))
    print(
        "periodic in longitude    ",
        daskgrad.gradient(wave, lon, boundary="periodic", period=360.0).round(5),
    )


def dask_tour() -> None:
    if importlib.util.find_spec("dask") is None:
        print("\n(dask is not installed: skipping the Dask part)")
        return
    import dask.array as da

    print("\n== Dask: lazy, same chunks, ANY chunking (size-1 and ragged chunks too)")
    data = np.random.default_rng(0).standard_normal((6, 8, 10))
    f = da.from_array(data, chunks=(1, 3, 7))
    lat = np.linspace(-60.0, 60.0, 8)
    lon = np.arange(0.0, 360.0, 36.0)
    dt, dlat, dlon = daskgrad.gradient(
        f, 3600.0, lat, lon, edge_order=2, boundary={-1: "periodic"}, period={-1: 360.0}
    )
    print("lazy result:", dlon)
    print("chunks kept:", dlon.chunks == f.chunks)
    expected = np.gradient(data, 3600.0, lat, axis=(0, 1), edge_order=2)
    ok = all(np.array_equal(g, e) for g, e in zip(da.compute(dt, dlat), expected, strict=True))
    print("time/lat derivatives bit-identical to numpy.gradient:", ok)
    print("dask.array.gradient on these chunks: ", end="")
    try:
        da.gradient(f, edge_order=2)
    except ValueError as err:
        print(f"ValueError: {err}")
    except NotImplementedError:  # dask's array-expression mode has no dask.array.gradient
        print("not available in dask's array-expression mode")


def xarray_tour() -> None:
    if importlib.util.find_spec("xarray") is None or importlib.util.find_spec("dask") is None:
        print("\n(xarray/dask not installed: skipping the xarray part)")
        return
    import xarray as xr

    print("\n== xarray: labels in, labels out")
    lon = np.arange(0.0, 360.0, 30.0)
    lat = np.array([-45.0, -15.0, 15.0, 45.0])
    t = xr.DataArray(
        np.cos(np.deg2rad(lon))[None, :] * np.cos(np.deg2rad(lat))[:, None],
        dims=("lat", "lon"),
        coords={"lat": lat, "lon": lon},
        name="t",
    ).chunk({"lon": 5})
    axis = t.get_axis_num("lon")
    dlon = daskgrad.gradient(t.data, t["lon"].values, axis=axis, boundary="periodic", period=360.0)
    print("d t / d lon (degrees), periodic, from the array API:")
    print(t.copy(data=dlon).isel(lat=0).compute().values.round(5))
    if hasattr(t, "grad"):
        acc = t.grad.differentiate("lon", boundary="periodic", period=360.0).compute()
        print("same through the .grad accessor:", np.allclose(acc.values, dlon.compute()))
        try:
            own = t.differentiate("lon").isel(lat=0).compute().values[[0, -1]].round(5)
        except NotImplementedError:  # it calls numpy.gradient: not in array-expression mode
            print("xarray's own differentiate: not available in dask's array-expression mode")
            return
        ends = acc.isel(lat=0).values[[0, -1]].round(5)
        print("xarray's own differentiate (no wrap) differs at the ends:", own, "vs", ends)


if __name__ == "__main__":
    numpy_tour()
    dask_tour()
    xarray_tour()
