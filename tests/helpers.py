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
