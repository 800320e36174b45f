"""Pieces of the ``daskgrad`` command that need no cluster: argument parsing, input
opening, name resolution, output preparation, resume bookkeeping, the progress bar."""

from __future__ import annotations

import io as _io

import numpy as np
import pytest

from tests.helpers import requires_dask, requires_xarray, requires_zarr

pytestmark = [requires_xarray, requires_zarr, requires_dask]


def _grid(**attrs):
    import xarray as xr

    lat = ("lat_c", [10.0, 0.0, -10.0], attrs)
    return xr.Dataset(
        {"t": (("time", "lat_c", "x"), np.arange(24.0).reshape(2, 3, 4))},
        coords={"lat_c": lat, "x": np.arange(4.0)},
    )


@pytest.mark.parametrize(
    "attrs",
    [{"units": "degrees_north"}, {"standard_name": "latitude"}, {"axis": "Y", "units": "degrees"}],
)
def test_resolve_dim_by_cf_metadata(attrs):
    from daskgrad._inputs import resolve_dim

    ds = _grid(**attrs)
    assert resolve_dim(ds, "lat") == "lat_c"
    assert resolve_dim(ds, "x") == "x"


def test_resolve_dim_unknown_lists_the_dims():
    from daskgrad._inputs import resolve_dim
    from daskgrad._usage import UsageError

    with pytest.raises(UsageError, match="unknown dim 'lat': the input's dims are time, lat_c, x"):
        resolve_dim(_grid(), "lat")


def test_select_variables():
    from daskgrad._inputs import select_variables
    from daskgrad._usage import UsageError

    ds = _grid().assign(s=("x", np.ones(4)), when=("x", np.arange(4).astype("M8[D]")))
    assert select_variables(ds, None, ["lat_c", "x"]) == ["t"]
    assert select_variables(ds, None, ["x"]) == ["t", "s"]
    assert select_variables(ds, ["s", "s"], ["x"]) == ["s"]
    with pytest.raises(UsageError, match="variable 's' has no dim 'lat_c'"):
        select_variables(ds, ["s"], ["lat_c"])
    with pytest.raises(UsageError, match="no numeric data variable has all of the dims"):
        select_variables(ds[["s"]], None, ["time"])


def test_parse_chunks_and_period():
    from daskgrad._usage import UsageError
    from daskgrad.cli import parse_chunks, parse_period

    assert parse_chunks(None) == {}
    assert parse_chunks("time=1,lat=-1") == {"time": 1, "lat": -1}
    assert parse_period(["lon=360"]) == {"lon": 360.0}
    for bad in (["lon"], ["lon=-1"], ["lon=inf"], ["=3"]):
        with pytest.raises(UsageError, match="--period"):
            parse_period(bad)


def test_open_input_keeps_stored_chunks(tmp_path):
    from daskgrad._inputs import chunk_plan, open_input

    path = tmp_path / "in.zarr"
    _grid().to_zarr(path, zarr_format=2, consolidated=True, encoding={"t": {"chunks": (1, 3, 2)}})
    probe = open_input(str(path))
    assert probe["t"].chunks is None  # no dask at all for inspecting names
    plan = chunk_plan(probe, ["t"], {"x": 4})
    assert plan == {"time": 1, "lat_c": 3, "x": 4}
    ds = open_input(str(path), chunks=plan)
    assert ds["t"].chunks == ((1, 1), (3,), (4,))


def test_zarr_chunks_and_stale_encoding_dropped(tmp_path):
    """xarray#5286: a rechunked variable with the input's encoding["chunks"] fails to_zarr."""
    import xarray as xr

    from daskgrad._compat import dask_array_expr_enabled
    from daskgrad._store import Layout, prepare_result

    path = tmp_path / "in.zarr"
    _grid().to_zarr(path, zarr_format=2, consolidated=True, encoding={"t": {"chunks": (1, 3, 2)}})
    with xr.open_zarr(path) as ds:
        rechunked = ds.chunk({"time": 2, "x": 3})  # x chunks (3, 1) overlap stored chunks of 2
        with pytest.raises((ValueError, NotImplementedError), match="overlap|align|chunk|store"):
            rechunked.to_zarr(tmp_path / "naive.zarr", zarr_format=2, consolidated=True)
        ready = prepare_result(rechunked, {"history": "h"}, Layout(zarr_format=2))
        assert ready["t"].encoding == {"chunks": (2, 3, 3)}
        if not dask_array_expr_enabled():  # to_zarr of Dask arrays: classic mode only
            ready.to_zarr(tmp_path / "ok.zarr", zarr_format=2, consolidated=True)
    irregular = _grid().chunk({"time": 1, "x": (1, 3)})
    assert prepare_result(irregular, {}, Layout())["t"].chunks == ((1, 1), (3,), (3, 1))


def test_chunk_keys_and_partial_files(tmp_path):
    import xarray as xr
    import zarr

    from daskgrad._store import (
        Layout,
        chunk_key,
        init_output,
        present_keys,
        read_arguments,
        remove_partial_files,
    )

    out = tmp_path / "o.zarr"
    ds = xr.Dataset({"g": (("y", "x"), np.zeros((4, 4)))}).chunk(2)
    ds["g"].encoding = {"chunks": (2, 2)}
    init_output(ds, str(out), {"dims": ["x"]}, Layout(zarr_format=2))
    assert read_arguments(str(out)) == {"dims": ["x"]}
    keys, metadata = present_keys(str(out), "g")
    assert set(keys) == {".zarray", ".zattrs"}
    zarr.open_array(str(out), path="g", mode="r+")[2:4, 0:2] = 1.0
    keys, _ = present_keys(str(out), "g")
    assert chunk_key(metadata, (1, 0)) == "1.0" and keys["1.0"] > 0
    (out / "g" / "1.1.abc.partial").write_bytes(b"half")
    remove_partial_files(str(out))
    assert not (out / "g" / "1.1.abc.partial").exists()


class _Tty(_io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_draws_only_on_a_terminal():
    from daskgrad._progress import Progress

    quiet = Progress(3, stream=_io.StringIO())
    quiet.advance(3, 300)
    quiet.close()
    assert quiet.stream.getvalue() == ""
    off = Progress(3, enabled=False, stream=_Tty())
    off.advance(3, 300)
    off.close()
    assert off.stream.getvalue() == ""
    tty = Progress(2, stream=_Tty())
    tty.advance(1, 10)
    tty.advance(1, 10)
    tty.close()
    text = tty.stream.getvalue()
    assert text.startswith("\r[") and text.endswith("\n")
    assert "100% | 2/2 chunks" in text and "ETA 0:00" in text
