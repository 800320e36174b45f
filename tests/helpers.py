"""Shared test helpers (flox / cf-xarray style)."""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator

import pytest


def _importorskip(modname: str) -> tuple[bool, pytest.MarkDecorator]:
    try:
        importlib.import_module(modname)
        has = True
    except ImportError:
        has = False
    return has, pytest.mark.skipif(not has, reason=f"requires {modname}")


has_dask, requires_dask = _importorskip("dask.array")
has_xarray, requires_xarray = _importorskip("xarray")
has_torch, requires_torch = _importorskip("torch")
has_numba, requires_numba = _importorskip("numba")
has_distributed, requires_distributed = _importorskip("distributed")
has_zarr, requires_zarr = _importorskip("zarr")
has_bokeh, requires_bokeh = _importorskip("bokeh")


def _has_gpu() -> bool:
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # noqa: BLE001 - any failure means no usable GPU
        return False


has_cupy = _has_gpu()
requires_cupy = pytest.mark.skipif(not has_cupy, reason="requires cupy and a CUDA GPU")


class _CountingScheduler:
    """A dask scheduler that counts computes and fails past ``max_computes``."""

    def __init__(self, max_computes: int = 0) -> None:
        self.total_computes = 0
        self.max_computes = max_computes

    def __call__(self, dsk, keys, **kwargs):  # noqa: ANN001
        import dask

        self.total_computes += 1
        if self.total_computes > self.max_computes:
            raise RuntimeError(
                f"Too many computes. Total: {self.total_computes} > max: {self.max_computes}."
            )
        return dask.get(dsk, keys, **kwargs)


@contextlib.contextmanager
def raise_if_dask_computes(max_computes: int = 0) -> Iterator[None]:
    """Fail if anything inside the block computes a dask graph."""
    import dask

    with dask.config.set(scheduler=_CountingScheduler(max_computes)):
        yield


def listening_sockets(pids: list[int]) -> list[tuple[str, int]]:
    """``(ip, port)`` of every listening inet socket of processes ``pids``."""
    import psutil

    return [
        (c.laddr.ip, c.laddr.port)
        for pid in pids
        for c in psutil.Process(pid).net_connections("inet")
        if c.status == psutil.CONN_LISTEN
    ]


def write_chunked_zarr(ds, path, chunks: dict, **kwargs) -> None:
    """``ds.chunk(chunks).to_zarr(path, **kwargs)``, as users write a store.

    In dask's array-expression mode (dask 2026.8) ``to_zarr`` of Dask arrays raises
    NotImplementedError (``dask.array.store``); there the same store is written from the
    in-memory data with the chunks as encoding (merged under ``kwargs["encoding"]``).
    """
    from daskgrad._compat import dask_array_expr_enabled

    if not dask_array_expr_enabled():
        ds.chunk(chunks).to_zarr(path, **kwargs)
        return
    encoding = {name: dict(enc) for name, enc in kwargs.pop("encoding", {}).items()}
    for name, var in ds.data_vars.items():
        enc = encoding.setdefault(name, {})
        enc.setdefault("chunks", tuple(min(chunks.get(d, n), n) for d, n in var.sizes.items()))
    ds.load().to_zarr(path, encoding=encoding, **kwargs)
