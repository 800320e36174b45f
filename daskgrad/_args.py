"""The ``daskgrad`` command line: the parser, its flags in one table, and value parsers."""

from __future__ import annotations

import argparse
import json
import math
from typing import Any, NoReturn

from . import __version__
from ._usage import UsageError

__all__ = [
    "build_parser",
    "parse_chunks",
    "parse_period",
    "redact_argv",
    "parse_shards",
    "parse_storage_options",
]


_EPILOG_GRADIENT = """\
examples:
  daskgrad gradient era5.zarr grad.zarr --dim latitude --dim longitude --geographic \\
      --var t2m --chunks time=24 --workers 2 --memory-limit 2GiB
  daskgrad gradient 'data/*.nc' grad.zarr --dim x --dim y --edge-order 2
  daskgrad gradient era5.zarr grad.zarr ... --resume      # finish an interrupted run
  daskgrad gradient big.zarr out.zarr --dim x --scheduler tls://sched:8786 \\
      --tls-ca ca.pem --tls-cert cert.pem --tls-key key.pem

OUTPUT holds one variable d{var}_d{dim} per variable and dim, chunked like the
computation; INPUT is only ever read. With --scheduler, INPUT and OUTPUT must be
paths or URLs the workers can reach.
"""


_EPILOG_OPERATOR = """\
examples:
  daskgrad {cmd} era5.zarr {cmd}.zarr --u u10 --v v10 --geographic --nan-policy omit
  daskgrad {cmd} model.nc {cmd}.zarr --u u --v v --dim x --dim y

OUTPUT holds one variable, {cmd}, chunked like the computation, with the units of
U per metre (e.g. s-1) on a geographic grid; INPUT is only ever read. --dim X --dim Y
name the x and y dims (default: longitude and latitude with --geographic, else the
last two dims of U as (..., y, x)).
"""

_OPERATOR_HELP = {
    "vorticity": "relative vorticity dv/dx - du/dy of --u/--v into a Zarr store",
    "divergence": "horizontal divergence du/dx + dv/dy of --u/--v into a Zarr store",
}

_DEMO_HELP = "sample dataset -> geographic gradient on a LocalCluster -> Zarr + PNG map"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, exit 2, as every usage error
        self.exit(2, f"daskgrad: error: {message} (see {self.prog} --help)\n")


_STORE = {"action": "store_true"}


_REPEAT = {"action": "append"}


# flags of `daskgrad gradient`, in --help order: (flags, argparse keywords, help)
_GRADIENT_ARGS: list[tuple[tuple[str, ...], dict[str, Any], str]] = [
    (("input",), {"metavar": "INPUT"}, "Zarr store, NetCDF file, or a quoted glob of NetCDF files"),
    (("output",), {"metavar": "OUTPUT"}, "Zarr store to create"),
    (
        ("--dim",),
        {**_REPEAT, "required": True, "metavar": "DIM"},
        "dim to differentiate along (repeat); lat/lon/time find CF-tagged dims too",
    ),
    (
        ("--var",),
        {**_REPEAT, "metavar": "NAME"},
        "variable to differentiate (repeat; default: every numeric one with all --dim)",
    ),
    (
        ("--edge-order",),
        {"type": int, "choices": (1, 2), "default": 1},
        "order of the one-sided differences at the edges (default 1)",
    ),
    (
        ("--nan-policy",),
        {"choices": ("propagate", "omit", "raise"), "default": "propagate"},
        "NaN in INPUT: propagate (NumPy: spreads to neighbours; default), omit (gaps, "
        "e.g. land: each run of valid points differentiated on its own), raise (fail)",
    ),
    (("--geographic",), _STORE, "lat/lon in degrees: derivatives per metre on the sphere"),
    (("--periodic",), {**_REPEAT, "metavar": "DIM"}, "wrap around DIM (repeat)"),
    (("--period",), {**_REPEAT, "metavar": "DIM=LENGTH"}, "a periodic dim's period, e.g. lon=360"),
    (("--datetime-unit",), {"metavar": "UNIT"}, "unit of a datetime dim's spacing, e.g. s or h"),
    (("--chunks",), {"metavar": "DIM=SIZE,..."}, "computation chunks, e.g. time=1,lat=256"),
    (
        ("--zarr-format",),
        {"type": int, "choices": (2, 3), "default": 3},
        "Zarr format of OUTPUT (default 3)",
    ),
    (
        ("--shards",),
        {"metavar": "DIM=SIZE,..."},
        "format 3: shards of SIZE elements along DIM (a multiple of its chunk), one chunk "
        "along the other dims, e.g. time=24",
    ),
    (
        ("--storage-options",),
        {"type": lambda text: parse_storage_options(text), "default": {}, "metavar": "JSON"},
        "fsspec options (a JSON object) for INPUT and OUTPUT URLs; never stored in OUTPUT",
    ),
    (("--overwrite",), _STORE, "replace an existing OUTPUT (a Zarr store)"),
    (("--resume",), _STORE, "finish an interrupted run: compute only chunks missing in OUTPUT"),
    (("--no-progress",), _STORE, "no progress bar"),
]


_CLUSTER_ARGS: list[tuple[tuple[str, ...], dict[str, Any], str]] = [
    (("--scheduler",), {"metavar": "ADDRESS"}, "join a cluster: tcp://host:8786, tls://..."),
    (
        ("--timeout",),
        {"type": float, "default": 30.0, "metavar": "SECONDS"},
        "give up joining --scheduler after SECONDS without an answer (default 30; exit 2)",
    ),
    (("--tls-ca",), {"metavar": "FILE"}, "CA certificate (tls:// scheduler)"),
    (("--tls-cert",), {"metavar": "FILE"}, "client certificate (tls:// scheduler)"),
    (("--tls-key",), {"metavar": "FILE"}, "client private key (tls:// scheduler)"),
    (("--workers",), {"type": int, "metavar": "N"}, "local worker processes"),
    (("--threads-per-worker",), {"type": int, "metavar": "T"}, "threads per local worker"),
    (("--memory-limit",), {"metavar": "SIZE"}, "memory per local worker, e.g. 2GiB"),
    (("--no-dashboard",), _STORE, "no dashboard (it listens on 127.0.0.1 only)"),
]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``daskgrad`` command.

    Examples
    --------
    >>> args = build_parser().parse_args(["gradient", "in.zarr", "out.zarr", "--dim", "x"])
    >>> args.dim, args.edge_order, args.resume
    (['x'], 1, False)
    """
    parser = _Parser(
        prog="daskgrad", description="numpy.gradient on Zarr/NetCDF datasets of any size, on Dask."
    )
    parser.add_argument(
        "--traceback",
        action="store_true",
        help="show tracebacks of failures and the cluster's log messages",
    )
    parser.add_argument("--version", action="version", version=f"daskgrad {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo = sub.add_parser("demo", help=_DEMO_HELP, description=_DEMO_HELP + ".")
    demo.add_argument(
        "--output-dir", default="daskgrad-demo", metavar="DIR", help="(default: ./daskgrad-demo)"
    )
    demo.add_argument("--no-progress", action="store_true", help="no progress bar")
    g = sub.add_parser(
        "gradient",
        help="differentiate a Zarr/NetCDF dataset into a Zarr store",
        description="Partial derivatives d{var}_d{dim} of INPUT's variables, written to the\n"
        "Zarr store OUTPUT chunk by chunk.",
        epilog=_EPILOG_GRADIENT,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_run_args(g, _GRADIENT_ARGS)
    for name, text in _OPERATOR_HELP.items():
        op = sub.add_parser(
            name,
            help=text,
            description=text[0].upper() + text[1:] + ", written chunk by chunk.",
            epilog=_EPILOG_OPERATOR.format(cmd=name),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        _add_run_args(op, _operator_args())
    return parser


def _add_run_args(p: argparse.ArgumentParser, table: list) -> None:
    """The flags of a batch command (``table``) and the cluster flags."""
    mode = p.add_mutually_exclusive_group()
    for flags, kwargs, text in table:
        (mode if flags[0] in ("--overwrite", "--resume") else p).add_argument(
            *flags, help=text, **kwargs
        )
    cluster = p.add_argument_group("cluster (default: a LocalCluster on 127.0.0.1)")
    for flags, kwargs, text in _CLUSTER_ARGS:
        cluster.add_argument(*flags, help=text, **kwargs)


def _operator_args() -> list[tuple[tuple[str, ...], dict[str, Any], str]]:
    """``vorticity``/``divergence``: the flags of ``gradient`` with ``--u``/``--v`` for
    ``--var``, ``--dim`` optional (X then Y), and no ``--datetime-unit``."""
    out: list[tuple[tuple[str, ...], dict[str, Any], str]] = []
    for flags, kwargs, text in _GRADIENT_ARGS:
        if flags[0] == "--var":
            out.append((("--u",), {"required": True, "metavar": "U"}, "eastward (x) component"))
            out.append((("--v",), {"required": True, "metavar": "V"}, "northward (y) component"))
        elif flags[0] == "--dim":
            out.append(
                (flags, {**_REPEAT, "metavar": "DIM"}, "the x dim, then the y dim (see below)")
            )
        elif flags[0] != "--datetime-unit":
            out.append((flags, kwargs, text))
    return out


def parse_chunks(text: str | None) -> dict[str, int]:
    """Parse ``--chunks``: ``"time=1,lat=256"`` → ``{"time": 1, "lat": 256}`` (-1: whole dim).

    Examples
    --------
    >>> parse_chunks("time=1, lat=256,lon=-1")
    {'time': 1, 'lat': 256, 'lon': -1}
    >>> parse_chunks("time:1")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    daskgrad._usage.UsageError: --chunks: expected DIM=SIZE[,DIM=SIZE...] ...
    """
    out: dict[str, int] = {}
    if not text:
        return out
    for item in text.split(","):
        name, sep, size = item.strip().partition("=")
        try:
            value = int(size)
        except ValueError:
            value = 0
        if not sep or not name.strip() or (value < 1 and value != -1) or name in out:
            raise UsageError(
                "--chunks: expected DIM=SIZE[,DIM=SIZE...] (e.g. time=1,lat=256), got " + repr(text)
            )
        out[name.strip()] = value
    return out


def parse_shards(text: str | None) -> dict[str, int]:
    """Parse ``--shards``: ``"time=24,lat=512"`` → ``{"time": 24, "lat": 512}``.

    Examples
    --------
    >>> parse_shards("time=24, lat=512")
    {'time': 24, 'lat': 512}
    >>> parse_shards("time=-1")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    daskgrad._usage.UsageError: --shards: expected DIM=SIZE[,DIM=SIZE...] ...
    """
    out: dict[str, int] = {}
    for item in (text or "").split(",") if text else []:
        name, sep, size = item.strip().partition("=")
        value = int(size) if size.strip().isdigit() else 0
        if not sep or not name.strip() or value < 1 or name.strip() in out:
            raise UsageError(
                "--shards: expected DIM=SIZE[,DIM=SIZE...] (e.g. time=24), got " + repr(text)
            )
        out[name.strip()] = value
    return out


def parse_period(items: list[str] | None) -> dict[str, float]:
    """Parse ``--period lon=360`` items into ``{"lon": 360.0}``.

    Examples
    --------
    >>> parse_period(["lon=360", "x=6.5"])
    {'lon': 360.0, 'x': 6.5}
    """
    out: dict[str, float] = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        try:
            number = float(value)
        except ValueError:
            number = float("nan")
        if not sep or not name or not math.isfinite(number) or number <= 0:
            raise UsageError(f"--period: expected DIM=LENGTH (e.g. lon=360), got {item!r}")
        out[name.strip()] = number
    return out


def parse_storage_options(text: str) -> dict[str, Any]:
    """Parse ``--storage-options``: a JSON object of fsspec options (``{}`` for none).

    Examples
    --------
    >>> parse_storage_options('{"anon": true, "client_kwargs": {"region_name": "eu-west-1"}}')
    {'anon': True, 'client_kwargs': {'region_name': 'eu-west-1'}}
    >>> parse_storage_options("anon=true")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: expected a JSON object ..., got 'anon=true'
    """
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(
            f"expected a JSON object such as {{}} or {{KEY: VALUE, ...}}, got {text!r}"
        )
    return value


def redact_argv(argv: list[str]) -> list[str]:
    """``argv`` with the value of ``--storage-options`` (credentials) replaced by ``{...}``.

    The command line is recorded in OUTPUT's ``history``; storage options never are.

    Examples
    --------
    >>> redact_argv(["gradient", "s3://b/in.zarr", "o", "--storage-options", '{"secret": "s"}'])
    ['gradient', 's3://b/in.zarr', 'o', '--storage-options', '{...}']
    >>> redact_argv(["--storage-options={}", "--dim", "x"])
    ['--storage-options={...}', '--dim', 'x']
    """
    out: list[str] = []
    hide = False
    for item in argv:
        if hide:
            item, hide = "{...}", False
        elif item == "--storage-options":
            hide = True
        elif item.startswith("--storage-options="):
            item = "--storage-options={...}"
        out.append(item)
    return out
