"""What each batch command computes: INPUT opened, arguments checked, the lazy result.

``daskgrad gradient`` builds ``ds.grad.gradient(dims, ...)``; ``daskgrad vorticity`` and
``daskgrad divergence`` build :func:`daskgrad.vorticity` / :func:`daskgrad.divergence` of
``--u`` and ``--v``. Each returns the result as a Dataset (its data variables are what
OUTPUT holds) and the arguments recorded in OUTPUT (``daskgrad_arguments``, which
``--resume`` compares). Every usage error surfaces here, before a cluster starts.
"""

from __future__ import annotations

import argparse
import functools
from typing import Any, TextIO

from . import _inputs, _store
from ._args import parse_chunks, parse_period
from ._paths import normalise
from ._usage import UsageError

__all__ = ["OPERATORS", "build"]

OPERATORS = ("vorticity", "divergence")


def build(args: argparse.Namespace, err: TextIO) -> tuple[Any, dict[str, Any]]:
    """The lazy result of ``args.command`` and the arguments to record in OUTPUT."""
    options = getattr(args, "storage_options", None) or {}
    probe = _inputs.open_input(args.input, storage_options=options)
    grid = _curvilinear_grid(probe) if args.geographic else None
    resolve = _inputs.resolve_dim if grid is None else functools.partial(_coordinate, grid=grid)
    if args.command in OPERATORS:
        names = _operator_variables(probe, args.u, args.v)
        dims = [resolve(probe, d) for d in args.dim or []]
        if dims and (len(dims) != 2 or dims[0] == dims[1]):
            raise UsageError(f"--dim: expected two dims (--dim X --dim Y), got {args.dim}")
        _check_dims(probe, names, list(grid.grid) if grid else dims)
    else:
        dims = list(dict.fromkeys(resolve(probe, d) for d in args.dim))
        grid_dims = list(grid.grid) if grid else dims
        names = _inputs.select_variables(probe, args.var, grid_dims)
    ds = _open_chunked(args, probe, names, options, err)
    kwargs = _keywords(args, probe)
    if args.command in OPERATORS:
        result = _operator(args.command, ds, names, dims, kwargs)
    else:
        if args.datetime_unit:
            kwargs["datetime_unit"] = args.datetime_unit
        import daskgrad.xarray  # noqa: F401  (registers the `grad` accessor)

        try:
            result = ds.grad.gradient(dims, **kwargs)
        except (ValueError, TypeError, KeyError) as exc:
            raise UsageError(str(exc).strip().splitlines()[0]) from None
    first = result[next(iter(result.data_vars))]
    arguments = {
        "command": args.command,
        "input": normalise(args.input),
        "variables": names,
        "dims": dims,
        "edge_order": args.edge_order,
        "geographic": args.geographic,
        "nan_policy": args.nan_policy,
        "boundary": {k: str(v) for k, v in kwargs.get("boundary", {}).items()},
        "period": kwargs.get("period", {}),
        "datetime_unit": getattr(args, "datetime_unit", None),
        "input_fingerprint": _inputs.fingerprint(args.input, probe, names, options),
        "chunks": {
            str(d): _store.zarr_chunks(c) for d, c in zip(first.dims, first.chunks, strict=True)
        },
    }
    return result, arguments


def _curvilinear_grid(probe: Any) -> Any:
    """The curvilinear grid (2-D latitude/longitude) of INPUT, or None for a regular one."""
    from . import _geo

    try:
        geo = _geo.geo_of(probe, True, _geo.EARTH_RADIUS, curvilinear=True)
    except ValueError:
        return None  # no usable lat/lon at all: the regular path says why
    return geo if geo is not None and geo.curvilinear else None


def _coordinate(probe: Any, name: str, *, grid: Any) -> str:
    """``--dim`` on a curvilinear grid: the latitude or longitude coordinate it names."""
    from ._cf import kind_of

    if name in (grid.lat, grid.lon):
        return name
    kind = kind_of(name)
    if kind in ("lat", "lon"):
        return str(grid.lat if kind == "lat" else grid.lon)
    raise UsageError(
        f"--dim {name}: on a curvilinear grid (2-D {grid.lat!r} and {grid.lon!r} over "
        f"{', '.join(map(str, grid.grid))}) --geographic differentiates along latitude and "
        f"longitude: --dim {grid.lat} --dim {grid.lon} (or lat/lon)"
    )


def _operator_variables(probe: Any, u: str, v: str) -> list[str]:
    names = [u, v]
    for flag, name in (("--u", u), ("--v", v)):
        if name not in probe.data_vars:
            raise UsageError(
                f"{flag} {name}: unknown variable; the input's data variables are "
                + ", ".join(map(str, probe.data_vars))
            )
        if probe[name].dtype.kind not in "biufc":
            raise UsageError(f"{flag} {name}: not numeric (dtype {probe[name].dtype})")
    if probe[u].dims != probe[v].dims or probe[u].shape != probe[v].shape:
        raise UsageError(
            f"--u {u} and --v {v} must be on the same grid: dims {probe[u].dims} "
            f"and {probe[v].dims}, shapes {probe[u].shape} and {probe[v].shape}"
        )
    return list(dict.fromkeys(names))


def _check_dims(probe: Any, names: list[str], dims: list[str]) -> None:
    for name in names:
        missing = [d for d in dims if d not in probe[name].dims]
        if missing:
            raise UsageError(
                f"variable {name!r} has no dim {missing[0]!r} "
                f"(its dims are {', '.join(map(str, probe[name].dims))})"
            )


def _open_chunked(
    args: argparse.Namespace, probe: Any, names: list[str], options: dict, err: TextIO
) -> Any:
    """INPUT's ``names`` opened lazily with the computation's chunks."""
    user_chunks = parse_chunks(args.chunks)
    chunks = {_inputs.resolve_dim(probe, d): c for d, c in user_chunks.items()}
    split = _inputs.split_stored_chunks(probe, names, chunks)
    if split:
        print(
            f"note: --chunks splits the stored chunks ({', '.join(split)}), so each is read "
            "more than once; multiples of them read each once",
            file=err,
        )
    plan = _inputs.chunk_plan(probe, names, chunks)
    return _inputs.open_input(args.input, chunks=plan, storage_options=options)[names]


def _keywords(args: argparse.Namespace, probe: Any) -> dict[str, Any]:
    """The keywords shared by every command: edge order, geographic, NaN, boundaries."""
    kwargs: dict[str, Any] = {
        "edge_order": args.edge_order,
        "geographic": args.geographic,
        "nan_policy": args.nan_policy,
    }
    periods = parse_period(args.period)
    if args.periodic:
        kwargs["boundary"] = {_inputs.resolve_dim(probe, d): "periodic" for d in args.periodic}
    if periods:
        kwargs["period"] = {_inputs.resolve_dim(probe, d): v for d, v in periods.items()}
        for dim in kwargs["period"]:
            if dim not in kwargs.get("boundary", {}):
                raise UsageError(f"--period {dim}: {dim} is not periodic; add --periodic {dim}")
    return kwargs


def _operator(command: str, ds: Any, names: list[str], dims: list[str], kwargs: dict) -> Any:
    """``vorticity``/``divergence`` of ``ds[u], ds[v]`` as a one-variable Dataset."""
    import xarray as xr

    from . import vector

    u, v = ds[names[0]], ds[names[-1]]
    try:
        field = getattr(vector, command)(u, v, dims=dims or None, **kwargs)
    except (ValueError, TypeError, KeyError) as exc:
        raise UsageError(str(exc).strip().splitlines()[0]) from None
    return xr.Dataset({command: field}, attrs=dict(ds.attrs))
