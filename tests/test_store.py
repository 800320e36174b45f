"""The command's OUTPUT store without the command: encodings built from scratch for every
kind of INPUT, chunk keys as the Zarr specs define them (checked against the files zarr
writes), units (chunks/shards) and the batched writer on an in-process cluster, and
corrupt units found on ``--resume``. Runs in both of Dask's array modes."""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers import (
    requires_distributed,
    requires_xarray,
    requires_zarr,
    write_chunked_zarr,
)

pytestmark = [
    requires_xarray,
    requires_zarr,
    requires_distributed,
    # the inputs these tests make with a plain to_zarr (format 3, consolidated by default)
    pytest.mark.filterwarnings("ignore:Consolidated metadata is currently not part"),
]


def _ds(ntime: int = 3):
    import xarray as xr

    rng = np.random.default_rng(0)
    return xr.Dataset(
        {
            "f": (("time", "y", "x"), rng.random((ntime, 6, 8)).astype("f4"), {"units": "K"}),
            "g": (("time", "y", "x"), rng.random((ntime, 6, 8)), {"units": "m"}),
        },
        coords={
            "time": np.arange(ntime).astype("M8[D]").astype("M8[ns]"),
            "y": np.arange(6.0) * 1000.0,
            "x": np.arange(8.0) * 1000.0,
        },
    )


def _v2(path):
    write_chunked_zarr(_ds(), path, {"time": 1}, zarr_format=2, consolidated=True)
    return path


def _v3(path):
    write_chunked_zarr(_ds(), path, {"time": 1})
    return path


def _v3_sharded(path):
    enc = {v: {"chunks": (1, 3, 4), "shards": (3, 6, 8)} for v in ("f", "g")}
    _ds().to_zarr(path, encoding=enc)
    return path


def _packed(path):
    ds = _ds()
    ds["f"].encoding = {"dtype": "int16", "scale_factor": 1e-4, "add_offset": 0.5, "zlib": True}
    ds["f"].encoding["_FillValue"] = np.int16(-32767)
    ds.to_netcdf(path.with_suffix(".nc"), engine="netcdf4")
    return path.with_suffix(".nc")


@pytest.fixture
def client():
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
        ) as cluster,
        Client(cluster) as c,
    ):
        yield c


def _layouts():
    from daskgrad._store import Layout

    return [Layout(zarr_format=2), Layout(zarr_format=3), Layout(3, {"time": 2, "y": 6})]


@pytest.mark.parametrize("make", [_v2, _v3, _v3_sharded, _packed])
def test_encodings_are_built_from_scratch(tmp_path, make):
    """Nothing of INPUT's storage reaches OUTPUT: every layout can be created from every
    input (a v3 input made format-2 output fail with 'do not support serializer')."""
    import xarray as xr

    import daskgrad.xarray  # noqa: F401
    from daskgrad._store import init_output, prepare_result, read_arguments

    path = make(tmp_path / "in.zarr")
    with xr.open_dataset(path) as stored:
        ds = stored.chunk({"time": 1})
        result = ds.grad.gradient(["y", "x"])
        for i, layout in enumerate(_layouts()):
            ready = prepare_result(result, {"history": "h"}, layout)
            for name, var in ready.data_vars.items():
                chunks = tuple(c[0] for c in var.chunks)  # the computation's chunks
                want = {"chunks": chunks}
                if layout.shards:
                    want["shards"] = (2, 6, chunks[2])  # SIZE on time and y, a chunk on x
                assert var.encoding == want, name
            assert set(ready["time"].encoding) <= {"units", "calendar", "dtype", "_FillValue"}
            assert ready["y"].encoding == {} and ready["x"].encoding == {}
            out = tmp_path / f"out{i}.zarr"
            init_output(ready, str(out), {"run": i}, layout)
            assert read_arguments(str(out)) == {"run": i}
            with xr.open_zarr(out) as got:  # no warning either (warnings are errors here)
                np.testing.assert_array_equal(got["time"].values, ds["time"].values)
                assert got["df_dy"].dtype == result["df_dy"].dtype


@pytest.mark.parametrize(
    ("zarr_format", "encoding"),
    [
        (2, None),
        (2, "/"),
        (3, None),
        (3, {"name": "default", "separator": "."}),
        (3, {"name": "v2", "separator": "."}),
        (3, {"name": "v2", "separator": "/"}),
    ],
)
@pytest.mark.parametrize("sharded", [False, True])
def test_chunk_keys_match_the_files_zarr_writes(tmp_path, zarr_format, encoding, sharded):
    import zarr

    from daskgrad._store import chunk_key, present_keys

    if sharded and zarr_format == 2:
        pytest.skip("format 2 has no shards")
    kwargs = {}
    if zarr_format == 2 and encoding:
        kwargs["chunk_key_encoding"] = {"name": "v2", "separator": encoding}
    elif encoding:
        kwargs["chunk_key_encoding"] = encoding
    group = zarr.open_group(tmp_path / "s.zarr", mode="w", zarr_format=zarr_format)
    arr = group.create_array(
        "a",
        shape=(5, 6),
        chunks=(2, 3),
        shards=(4, 6) if sharded else None,
        dtype="f8",
        config={"write_empty_chunks": True},
        **kwargs,
    )
    arr[:] = 1.0
    keys, metadata = present_keys(str(tmp_path / "s.zarr"), "a")
    grid = (2, 1) if sharded else (3, 2)
    computed = {chunk_key(metadata, idx) for idx in np.ndindex(*grid)}
    stored = {k for k in keys if k not in ("zarr.json", ".zarray", ".zattrs")}
    assert computed == stored


def test_units_of_a_ragged_sharded_array():
    import dask.array as da
    import xarray as xr

    from daskgrad._store import Layout
    from daskgrad._stream import plan_units

    var = xr.DataArray(da.zeros((5, 7), chunks=(2, 3)), dims=("t", "x"))
    units = plan_units(xr.Dataset({"v": var}), Layout(3, {"t": 4}))
    assert [u.index for u in units] == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]
    first, last = units[0], units[-1]
    assert first.region == ((0, 4), (0, 3)) and first.blocks == ((0, 0), (1, 0))
    assert first.grid == (2, 1) and first.nchunks == 2 and first.nbytes == 4 * 3 * 8
    assert last.region == ((4, 5), (6, 7)) and last.blocks == ((2, 2),)
    assert sum(u.nchunks for u in units) == 3 * 3
    plain = plan_units(xr.Dataset({"v": var}), Layout(2))
    assert len(plain) == 9 and all(u.nchunks == 1 for u in plain)


class _Count:
    def __init__(self) -> None:
        self.chunks = self.nbytes = 0

    def advance(self, chunks: int, nbytes: int) -> None:
        self.chunks += chunks
        self.nbytes += nbytes


@pytest.mark.parametrize("layout", _layouts(), ids=["v2", "v3", "sharded"])
def test_stream_resume_and_corrupt_units(tmp_path, client, layout):
    import xarray as xr

    import daskgrad.xarray  # noqa: F401
    from daskgrad._store import discard_output, has_data, init_output, prepare_result
    from daskgrad._stream import find_undecodable, pending_units, plan_units, stream_to_zarr

    ds = _ds(ntime=4).chunk({"time": 1, "y": 3, "x": 4})
    result = ds.grad.gradient(["y", "x"])
    expected = result.compute()
    ready = prepare_result(result, {}, layout)
    out = str(tmp_path / "o.zarr")
    init_output(ready, out, {}, layout)
    assert not has_data(ready, out)
    units = plan_units(ready, layout)
    present, missing = pending_units(units, out)
    assert present == [] and missing == units
    count = _Count()
    stream_to_zarr(client, ready, out, units[: len(units) // 2], count, batch_size=4)
    assert count.chunks == sum(u.nchunks for u in units[: len(units) // 2])
    assert has_data(ready, out)
    present, missing = pending_units(units, out)
    assert present == units[: len(units) // 2] and missing == units[len(units) // 2 :]
    stream_to_zarr(client, ready, out, missing, _Count(), batch_size=4)
    with xr.open_zarr(out, chunks=None) as got:  # read as NumPy, in either dask mode
        for name in expected.data_vars:
            np.testing.assert_array_equal(got[name].values, expected[name].values)
    assert find_undecodable(client, out, units) == []
    files = sorted(p for p in (tmp_path / "o.zarr" / "df_dx").rglob("*") if p.is_file())
    files = [p for p in files if not p.name.startswith(".") and p.name != "zarr.json"]
    head = files[0].read_bytes()
    files[0].write_bytes(head[: len(head) // 2])  # truncated (a constant chunk can be < 8 bytes)
    files[-1].write_bytes(b"")  # 0 bytes: listed as missing
    present, missing = pending_units(units, out)
    bad = find_undecodable(client, out, present)
    assert len(bad) == 1 and bad[0].name == "df_dx" and len(missing) == 1
    stream_to_zarr(client, ready, out, bad + missing, _Count(), batch_size=4)
    with xr.open_zarr(out, chunks=None) as got:
        np.testing.assert_array_equal(got["df_dx"].values, expected["df_dx"].values)
    discard_output(out)
    assert not (tmp_path / "o.zarr").exists()
