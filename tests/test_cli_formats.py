"""OUTPUT layouts and INPUT kinds of the ``daskgrad`` command, end to end: real
subprocesses, a real LocalCluster, real files and a real S3 server on 127.0.0.1.

Every layout (``--zarr-format 2``, ``--zarr-format 3``, ``--shards``) writes exactly the
accessor's result, survives a SIGKILL mid-write (``--resume`` finishes it and leaves the
chunks already there untouched), recomputes chunks that do not decode, and refuses a
``--resume`` with another layout. A run that fails before writing data leaves no OUTPUT.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import requires_distributed, requires_xarray, requires_zarr
from tests.test_cli import (
    DIMS,
    data_chunk_files,
    reference,
    run_cli,
    sample,
    sigkill_with_workers,
    start_cli,
    write_zarr,
)

pytestmark = [
    requires_xarray,
    requires_zarr,
    requires_distributed,
    pytest.mark.slow,
    # the inputs these tests make with a plain to_zarr (format 3, consolidated by default)
    pytest.mark.filterwarnings("ignore:Consolidated metadata is currently not part"),
]
SMALL = ["--workers", "1", "--threads-per-worker", "2", "--no-dashboard", "--no-progress"]
ARGS = [*DIMS, "--var", "t2m", "--var", "msl", *SMALL]
T = 900  # seconds a run may take: a loaded 2-core machine starts a cluster slowly
CHUNKS = {"time": 1, "latitude": 20, "longitude": 36}
LAYOUTS = {
    "v2": ["--zarr-format", "2"],
    "v3": ["--zarr-format", "3"],
    "sharded": ["--shards", "time=2,latitude=40"],
}


def _expected(ds):
    return reference(ds[["t2m", "msl"]], ["latitude", "longitude"])


def _assert_store_equals(out, expected, storage_options=None, rtol: float = 0.0) -> None:
    import xarray as xr

    with xr.open_zarr(out, storage_options=storage_options) as got:
        assert sorted(got.data_vars) == sorted(expected.data_vars)
        for name, var in expected.data_vars.items():
            values = got[name].values
            assert values.dtype == var.dtype, name
            if rtol:
                np.testing.assert_allclose(values, var.values, rtol=rtol, err_msg=name)
            else:
                np.testing.assert_array_equal(values, var.values, err_msg=name)
            assert got[name].attrs.get("units") == var.attrs.get("units")


@pytest.fixture(scope="module")
def src(tmp_path_factory) -> Path:
    return write_zarr(sample(ntime=4), tmp_path_factory.mktemp("src") / "in.zarr", CHUNKS)


@pytest.fixture(scope="module")
def expected(src):
    import xarray as xr

    with xr.open_zarr(src) as ds:
        return _expected(ds)


@pytest.fixture(scope="module")
def outputs(src, tmp_path_factory) -> dict[str, Path]:
    """One clean run per layout (each test copies what it changes)."""
    tmp = tmp_path_factory.mktemp("outputs")
    out = {}
    for name, extra in LAYOUTS.items():
        proc = run_cli("gradient", src, tmp / f"{name}.zarr", *ARGS, *extra, cwd=tmp, timeout=T)
        assert proc.returncode == 0, proc.stderr
        assert "wrote 64 of 64 chunks" in proc.stdout, proc.stdout
        out[name] = tmp / f"{name}.zarr"
    return out


# ---------------------------------------------------------------- layouts
@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_layout_holds_the_accessor_result(outputs, expected, layout):
    import zarr

    out = outputs[layout]
    _assert_store_equals(out, expected)  # xr.open_zarr: no warning (warnings are errors)
    array = zarr.open_group(out, mode="r")["dt2m_dlatitude"]
    assert array.metadata.zarr_format == (2 if layout == "v2" else 3)
    assert tuple(array.chunks) == (1, 20, 36)  # the computation's chunks
    files = data_chunk_files(out)
    if layout == "sharded":
        assert tuple(array.shards) == (2, 40, 36)  # SIZE along time/latitude, 1 chunk along lon
        assert len(files) == 4 * (2 * 1 * 2)  # 4 arrays x shards (time 2, lat 1, lon 2)
    else:
        assert array.shards is None
        assert len(files) == 64  # every chunk stored, none missing
    meta = (out / "dt2m_dlatitude" / (".zarray" if layout == "v2" else "zarr.json")).exists()
    assert meta and ((out / ".zmetadata").exists() or (out / "zarr.json").exists())


def test_layout_usage_errors(src, outputs, tmp_path):
    cases = [
        (["--zarr-format", "2", "--shards", "time=2"], "--zarr-format 3"),
        (["--shards", "latitude=30"], "not a multiple of the chunk length 20"),
        (["--shards", "time=2,longitude=48"], "not a multiple of the chunk length 36"),
        (["--shards", "depth=2"], "unknown dim 'depth'"),
        (["--shards", "time"], "--shards: expected"),
        (["--zarr-format", "4"], "invalid choice"),
    ]
    for extra, match in cases:
        proc = run_cli("gradient", src, tmp_path / "o.zarr", *ARGS, *extra, cwd=tmp_path, timeout=T)
        assert proc.returncode == 2 and match in proc.stderr, (extra, proc.stderr)
        assert proc.stderr.strip().count("\n") == 0, proc.stderr
        assert not (tmp_path / "o.zarr").exists()


@pytest.mark.parametrize(
    ("layout", "extra", "what"),
    [
        ("v3", ["--zarr-format", "2"], "zarr_format"),
        ("v3", ["--shards", "time=2"], "shards"),
        ("sharded", ["--shards", "time=4"], "shards"),
        ("v2", [], "zarr_format"),  # the default is format 3
    ],
)
def test_resume_with_another_layout_is_refused(src, outputs, tmp_path, layout, extra, what):
    from tests.test_cli import tree_state

    out = outputs[layout]
    before = tree_state(out)
    proc = run_cli("gradient", src, out, *ARGS, *extra, "--resume", cwd=tmp_path, timeout=T)
    assert proc.returncode == 2 and what in proc.stderr, proc.stderr
    assert tree_state(out) == before


# ---------------------------------------------------------------- inputs of every kind
def _v3(ds, path: Path) -> Path:
    ds.chunk(CHUNKS).to_zarr(path)  # what a plain to_zarr writes today: format 3
    return path


def _v3_sharded(ds, path: Path) -> Path:
    enc = {v: {"chunks": (1, 20, 36), "shards": (2, 40, 72)} for v in ds.data_vars}
    ds.chunk({"time": 2, "latitude": -1, "longitude": -1}).to_zarr(path, encoding=enc)
    return path


def _packed_netcdf(ds, path: Path) -> Path:
    """int16 with scale_factor/add_offset/_FillValue (as ERA5 ships), NaN included."""
    ds = ds.copy()
    ds["t2m"] = ds["t2m"].where(ds["latitude"] < 80)  # NaN rows: stored as the fill value
    for name, offset in (("t2m", 250.0), ("msl", 100000.0)):
        ds[name].encoding = {
            "dtype": "int16",
            "scale_factor": 0.01 if name == "t2m" else 0.5,
            "add_offset": offset,
            "_FillValue": np.int16(-32767),
            "zlib": True,
        }
    path = path.with_suffix(".nc")
    ds.to_netcdf(path, engine="netcdf4")
    return path


@pytest.mark.parametrize("make", [_v3, _v3_sharded, _packed_netcdf])
def test_inputs_of_every_kind(tmp_path, make):
    import xarray as xr

    path = make(sample(ntime=4), tmp_path / "in.zarr")
    with xr.open_dataset(path, engine="zarr" if path.suffix == ".zarr" else "netcdf4") as ds:
        expected = _expected(ds.chunk(CHUNKS))
    out = tmp_path / "out.zarr"
    proc = run_cli("gradient", path, out, *ARGS, "--chunks", "time=1", cwd=tmp_path, timeout=T)
    assert proc.returncode == 0, proc.stderr
    _assert_store_equals(out, expected, rtol=1e-10)
    if path.suffix == ".nc":
        assert np.isnan(expected["dt2m_dlatitude"].values).any()  # NaN carried through
        with xr.open_zarr(out) as got:  # stored unpacked: no packing in OUTPUT
            assert "scale_factor" not in got["dt2m_dlatitude"].encoding
            assert got["dmsl_dlongitude"].encoding["dtype"] == expected["dmsl_dlongitude"].dtype


# ---------------------------------------------------------------- corrupt chunks
@pytest.mark.parametrize("layout", ["v2", "sharded"])
def test_undecodable_chunks_are_recomputed_on_resume(src, outputs, expected, tmp_path, layout):
    out = tmp_path / "o.zarr"
    shutil.copytree(outputs[layout], out)
    files = sorted(data_chunk_files(out))
    empty, truncated = files[0], files[len(files) // 2]
    empty.write_bytes(b"")
    truncated.write_bytes(truncated.read_bytes()[: truncated.stat().st_size // 2])
    kept = {p: p.stat().st_mtime_ns for p in files if p not in (empty, truncated)}
    time.sleep(0.01)
    proc = run_cli(
        "gradient", src, out, *ARGS, *LAYOUTS[layout], "--resume", cwd=tmp_path, timeout=T
    )
    assert proc.returncode == 0, proc.stderr
    per_unit = 4 if layout == "sharded" else 1
    assert f"wrote {2 * per_unit} of 64 chunks" in proc.stdout, proc.stdout
    assert {p: p.stat().st_mtime_ns for p in kept} == kept
    _assert_store_equals(out, expected)


# ---------------------------------------------------------------- failures
def test_failed_run_before_any_chunk_leaves_no_output(src, outputs, tmp_path):
    broken = tmp_path / "broken.zarr"
    shutil.copytree(src, broken)
    for chunk in [*(broken / "t2m").iterdir(), *(broken / "msl").iterdir()]:
        if not chunk.name.startswith("."):
            chunk.write_bytes(b"not a chunk")  # every read fails on the worker
    fresh = tmp_path / "fresh.zarr"
    proc = run_cli("gradient", broken, fresh, *ARGS, cwd=tmp_path, timeout=T)
    assert proc.returncode == 1, proc.stderr
    assert not fresh.exists(), sorted(fresh.rglob("*"))
    old = tmp_path / "old.zarr"
    shutil.copytree(outputs["v3"], old)
    proc = run_cli("gradient", broken, old, *ARGS, "--overwrite", cwd=tmp_path, timeout=T)
    assert proc.returncode == 1, proc.stderr
    assert not old.exists()  # the old OUTPUT is gone either way, and nothing new is left
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.zarr"]


# ---------------------------------------------------------------- SIGKILL + --resume
def _kill_when(cmd: list, cwd: Path, written: Callable[[], int], at_least: int) -> int:
    """Start the command, SIGKILL it once ``written()`` reaches ``at_least``; return it."""
    proc = start_cli(*cmd, cwd=cwd)
    try:
        deadline = time.monotonic() + 900  # a loaded machine starts a cluster slowly
        while time.monotonic() < deadline and proc.poll() is None:
            if written() >= at_least:
                break
            time.sleep(0.02)
        assert proc.poll() is None, f"the run ended before it was killed: {proc.communicate()}"
    except BaseException:
        proc.kill()
        raise
    sigkill_with_workers(proc)
    return written()


@pytest.fixture(scope="module")
def long_src(tmp_path_factory):
    import xarray as xr

    path = write_zarr(sample(ntime=24), tmp_path_factory.mktemp("long") / "in.zarr", CHUNKS)
    with xr.open_zarr(path) as ds:
        return path, _expected(ds)


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_sigkill_then_resume_equals_a_clean_run(long_src, tmp_path, layout):
    src, expected = long_src
    out = tmp_path / "out.zarr"
    cmd = ["gradient", src, out, *ARGS, *LAYOUTS[layout], "--threads-per-worker", "1"]
    present = _kill_when(cmd, tmp_path, lambda: len(data_chunk_files(out)), 3)
    files = data_chunk_files(out)
    total_units = 4 * 24 * 2 * 2 // (4 if layout == "sharded" else 1)
    assert 0 < present < total_units, present
    kept = {p: p.stat().st_mtime_ns for p in files}
    proc = run_cli(
        "gradient", src, out, *ARGS, *LAYOUTS[layout], "--resume", cwd=tmp_path, timeout=T
    )
    assert proc.returncode == 0, proc.stderr
    assert "of 384 chunks" in proc.stdout, proc.stdout
    assert {p: p.stat().st_mtime_ns for p in kept} == kept  # present units never rewritten
    assert len(data_chunk_files(out)) == total_units
    _assert_store_equals(out, expected)


# ---------------------------------------------------------------- S3
def test_netcdf_to_s3(s3_server, tmp_path):  # noqa: F811
    import xarray as xr

    path = _packed_netcdf(sample(ntime=4), tmp_path / "in.nc")
    with xr.open_dataset(path) as ds:
        expected = _expected(ds.chunk(CHUNKS))
    url = s3_server.url("out.zarr")
    opts = s3_server.options_json
    proc = run_cli("gradient", path, url, *ARGS, "--chunks", "time=1", "--storage-options", opts,
                   cwd=tmp_path, timeout=T)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    _assert_store_equals(url, expected, storage_options=s3_server.options, rtol=1e-10)
    fs = s3_server.filesystem()
    metadata = [k for k in fs.find(url) if k.rsplit("/", 1)[-1] in ("zarr.json", ".zattrs")]
    for key in metadata:  # storage options are never written into OUTPUT
        assert s3_server.options["secret"] not in fs.cat_file(key).decode(), key


def test_s3_to_s3_sigkill_then_resume(s3_server, tmp_path):  # noqa: F811
    import xarray as xr

    src_url, out = s3_server.url("in.zarr"), s3_server.url("out.zarr")
    sample(ntime=24).chunk(CHUNKS).to_zarr(src_url, storage_options=s3_server.options)
    with xr.open_zarr(src_url, storage_options=s3_server.options) as ds:
        expected = _expected(ds)
    fs = s3_server.filesystem()
    root = out.split("://", 1)[1]

    def chunks() -> dict[str, object]:
        fs.invalidate_cache()
        found = fs.find(root, detail=True)
        rel = {k[len(root) + 1 :]: v for k, v in found.items()}
        return {k: v["LastModified"] for k, v in rel.items() if k.startswith("d") and "/c/" in k}

    opts = ["--storage-options", s3_server.options_json, "--shards", "time=2"]
    cmd = ["gradient", src_url, out, *ARGS, *opts, "--threads-per-worker", "1"]
    present = _kill_when(cmd, tmp_path, lambda: len(chunks()), 2)
    before = chunks()
    assert 0 < present < 4 * 12 * 2 * 2, present
    time.sleep(1.1)  # LastModified has a resolution of one second
    proc = run_cli("gradient", src_url, out, *ARGS, *opts, "--resume", cwd=tmp_path, timeout=T)
    assert proc.returncode == 0, proc.stderr
    after = chunks()
    assert len(after) == 4 * 12 * 2 * 2
    assert {k: after[k] for k in before} == before  # present shards never rewritten
    _assert_store_equals(out, expected, storage_options=s3_server.options)
    assert json.loads(xr.open_zarr(out, storage_options=s3_server.options).attrs[
        "daskgrad_arguments"])["shards"] == {"time": 2}  # fmt: skip
