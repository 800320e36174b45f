"""The ``daskgrad`` command: gradients of Zarr/NetCDF datasets, written to Zarr, on Dask.

``daskgrad demo`` runs the whole pipeline on a generated sample;
``daskgrad gradient INPUT OUTPUT --dim ...`` is the batch job, and ``daskgrad vorticity``
/ ``daskgrad divergence INPUT OUTPUT --u U --v V`` its vector siblings (what each
computes: :mod:`daskgrad._jobs`; how it is streamed to OUTPUT: here). Exit status: 0 ok,
2 usage or input errors (one line on stderr), 1 anything else, 130 interrupted.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import shlex
import sys
import time
from typing import Any, TextIO

from ._args import build_parser, parse_chunks, parse_period, redact_argv
from ._connect import ClusterOptions
from ._usage import UsageError

__all__ = ["build_parser", "main", "parse_chunks", "parse_period"]


def _cluster_options(args: argparse.Namespace) -> ClusterOptions:
    return ClusterOptions(
        scheduler=args.scheduler,
        workers=args.workers,
        threads_per_worker=args.threads_per_worker,
        memory_limit=args.memory_limit,
        dashboard=not args.no_dashboard,
        tls_ca=args.tls_ca,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        timeout=args.timeout,
        logs=args.traceback,
    ).check()


def _local(path: str) -> str:
    from ._paths import normalise

    return normalise(path)  # an absolute path (file:// URLs too), or a canonical URL


def _check_paths(input_spec: str, output: str) -> None:
    from ._paths import check_paths

    check_paths(input_spec, output)  # real paths, devices and inodes, symlinks, URL keys


def _check_output(args: argparse.Namespace, output: str, arguments: dict[str, Any]) -> bool:
    """Validate OUTPUT against the mode; return whether the run resumes."""
    from . import _inputs, _store
    from ._paths import claim_output

    _check_paths(args.input, output)
    claim_output(output, getattr(args, "storage_options", None))  # released by run_gradient
    if args.overwrite:
        _store.check_removable(output)
    if args.overwrite or not _store.output_exists(output):
        return False
    if not args.resume:
        raise UsageError(
            f"{output} exists; pass --overwrite to replace it, or --resume to "
            "finish an interrupted run"
        )
    recorded = _store.read_arguments(output)
    if recorded is None:
        raise UsageError(
            f"{output} was not made (or not fully started) by daskgrad; cannot "
            "resume it (use --overwrite to replace it)"
        )
    keys = (set(recorded) | set(arguments)) - {"input_fingerprint"}
    # a key added since OUTPUT was made reads as its default there
    diff = sorted(k for k in keys if recorded.get(k, _ADDED.get(k)) != arguments.get(k))
    what = _inputs.changed(recorded.get("input_fingerprint"), arguments["input_fingerprint"])
    if what and not diff:
        raise UsageError(
            f"cannot resume {output}: INPUT changed since that run started ({what}); "
            "--overwrite starts again"
        )
    if diff:
        raise UsageError(
            f"cannot resume {output}: it was made with different "
            f"{', '.join(diff)} (use --overwrite to start again)"
        )
    return True


# Arguments recorded in OUTPUT since a later release, with the value that older runs used.
_ADDED = {"nan_policy": "propagate", "command": "gradient"}


def _history(argv: list[str], old: str | None) -> str:
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    line = f"{stamp}: " + shlex.join(["daskgrad", *redact_argv(argv)])  # no credentials
    return line + ("\n" + old if old else "")


def run_gradient(args: argparse.Namespace, argv: list[str], out: TextIO, err: TextIO) -> int:
    """Run ``daskgrad gradient`` with parsed ``args``; return the exit status.

    Everything that can be checked without a cluster (arguments, INPUT, OUTPUT) is
    checked before one is started. OUTPUT is claimed for the run (a second run on it
    is refused) and released when the run ends, however it ends.
    """
    from ._paths import claims
    from ._progress import Status

    # a status line from the first moment (opening INPUT and starting the cluster take
    # seconds); what is printed to it appears above, and the progress bar takes it over
    with Status("opening INPUT", enabled=not args.no_progress, stream=err) as status, claims():
        return _run_gradient(args, argv, out, status)  # type: ignore[arg-type]


def _run_gradient(args: argparse.Namespace, argv: list[str], out: TextIO, err: TextIO) -> int:
    from . import _store
    from ._args import parse_shards
    from ._connect import connect
    from ._jobs import build
    from ._progress import Progress
    from ._stream import find_undecodable, pending_units, plan_units, stream_to_zarr

    cluster = _cluster_options(args)
    result, arguments = build(args, err)
    options = getattr(args, "storage_options", None) or {}
    layout = _store.make_layout(result, args.zarr_format, parse_shards(args.shards))
    arguments.update(layout.arguments())  # --resume refuses another format or shards
    output = _local(args.output)
    resume = _check_output(args, output, arguments)
    history = _history(argv, result.attrs.get("history"))
    attrs = {} if resume else _store.output_attrs(result, history)
    result = _store.prepare_result(result, attrs, layout)
    if resume:
        _store.check_layout(result, output, layout, options)
        _store.remove_partial_files(output)
    created = False
    try:
        with connect(cluster, err) as client:
            units = plan_units(result, layout)
            total = sum(u.nchunks for u in units)
            if resume:
                present, units = pending_units(units, output, options)
                units = sorted(
                    units + find_undecodable(client, output, present, options),
                    key=lambda u: (u.index, u.name),
                )
            else:
                _store.remove_output(output, options)
                created = True
                _store.init_output(result, output, arguments, layout, options)
            todo = sum(u.nchunks for u in units)
            progress = Progress(total, done=total - todo, enabled=not args.no_progress, stream=err)
            nthreads = sum(client.nthreads().values())
            start = time.monotonic()
            batch = max(8 * nthreads, 16)
            stream_to_zarr(client, result, output, units, progress, batch, options)
            progress.close()
            seconds = time.monotonic() - start
    except BaseException:
        if created and not _store.has_data(result, output, options):
            _store.discard_output(output, options)  # nothing for --resume: leave nothing
        raise
    if resume:
        old = _store.read_attr(output, "history", options)
        _store.update_attrs(output, options, history=_history(argv, old))
    print(
        f"wrote {todo} of {total} chunks ({', '.join(map(str, result.data_vars))}) "
        f"to {output} in {seconds:.1f} s",
        file=out,
    )
    return 0


def run_demo(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Run ``daskgrad demo``: sample data -> gradient on a LocalCluster -> Zarr + PNG.

    The demo owns ``DIR/sample.zarr``, ``DIR/gradient.zarr`` and ``DIR/gradient.png``
    and replaces them when run again.
    """
    from . import _store
    from .datasets import climate

    os.makedirs(args.output_dir, exist_ok=True)
    sample = os.path.join(args.output_dir, "sample.zarr")
    output = os.path.join(args.output_dir, "gradient.zarr")
    png = os.path.join(args.output_dir, "gradient.png")
    _store.remove_output(sample)
    ds = climate(ntime=8)
    # from memory, chunks as encoding: to_zarr of Dask arrays fails in dask's array-expr mode
    encoding = {
        name: {"chunks": tuple(1 if d == "time" else n for d, n in var.sizes.items())}
        for name, var in ds.data_vars.items()
    }
    ds.to_zarr(sample, mode="w-", zarr_format=2, consolidated=True, encoding=encoding)
    argv = [
        "gradient",
        sample,
        output,
        "--dim",
        "latitude",
        "--dim",
        "longitude",
        "--geographic",
        "--workers",
        "1",
        "--threads-per-worker",
        "2",
        "--overwrite",
    ]
    if args.no_progress:
        argv.append("--no-progress")
    status = run_gradient(build_parser().parse_args(argv), argv, out, err)
    from ._png import write_magnitude_png

    write_magnitude_png(output, png)
    print(
        f"sample input:   {os.path.abspath(sample)}\n"
        f"gradient (Zarr): {os.path.abspath(output)}\n"
        f"map (PNG):      {os.path.abspath(png)}",
        file=out,
    )
    return status


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``daskgrad`` console script and ``python -m daskgrad``.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name (default ``sys.argv[1:]``).

    Returns
    -------
    int
        0 ok, 1 failure, 2 usage or input error, 130 interrupted.

    Examples
    --------
    >>> main(["gradient", "no/such/input.zarr", "out.zarr", "--dim", "x"])
    2
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    out, err = sys.stdout, sys.stderr
    try:
        if args.command == "demo":
            return run_demo(args, out, err)
        return run_gradient(args, argv, out, err)
    except UsageError as exc:
        print(f"daskgrad: error: {exc}", file=err)
        return 2
    except KeyboardInterrupt:
        start = "\r" if err.isatty() else ""  # over the terminal's echoed ^C
        print(f"{start}daskgrad: interrupted; run again with --resume to finish", file=err)
        return 130
    except Exception as exc:  # everything else: exit 1 with the error, not a traceback
        if args.traceback:
            raise
        text = str(exc).strip().splitlines()
        print(f"daskgrad: error: {type(exc).__name__}: {text[0] if text else ''}", file=err)
        return 1
