#!/usr/bin/env bash
# End-to-end batch run of the `daskgrad` command on a generated dataset:
#   NetCDF files in -> geographic gradient on a LocalCluster -> Zarr out,
#   an existing output refused, an interrupted run finished with --resume.
#
# Usage: examples/batch.sh [WORKDIR]      (default: a new temporary directory)
# Needs `pip install -e ".[io]"`; set PYTHON to choose the interpreter.
set -euo pipefail

PY=${PYTHON:-python}
work=${1:-$(mktemp -d -t daskgrad-batch-XXXXXX)}
mkdir -p "$work"
dg() { "$PY" -m daskgrad "$@"; }

echo "== 1. a sample dataset as three NetCDF files (one per 4 time steps) in $work"
"$PY" - "$work" <<'PY'
import sys
from daskgrad.datasets import climate

ds = climate(ntime=12, nlat=73, nlon=144)
for i in range(3):
    ds.isel(time=slice(4 * i, 4 * i + 4)).to_netcdf(f"{sys.argv[1]}/era5_{i}.nc")
PY

args=("$work/era5_*.nc" "$work/grad.zarr" --dim lat --dim lon --geographic
      --var t2m --var msl --chunks time=1 --workers 1 --threads-per-worker 2 --no-dashboard)

echo "== 2. the gradient, written chunk by chunk to $work/grad.zarr"
dg gradient "${args[@]}"

echo "== 3. running it again is refused (exit 2): nothing is overwritten silently"
status=0
dg gradient "${args[@]}" || status=$?
[ "$status" -eq 2 ] || { echo "expected exit 2, got $status"; exit 1; }

echo "== 4. an interrupted run (here: chunks removed by hand) finished with --resume"
shopt -s nullglob  # the chunks of time steps 10 and 11: Zarr format 3 keys, format 2 keys
gone=("$work"/grad.zarr/dt2m_dlatitude/c/1[0-1] "$work"/grad.zarr/dt2m_dlatitude/1[0-1].*)
[ "${#gone[@]}" -gt 0 ] || { echo "no chunks of time steps 10-11 in grad.zarr"; exit 1; }
rm -r "${gone[@]}"
dg gradient "${args[@]}" --resume

echo "== 5. the result"
"$PY" - "$work/grad.zarr" <<'PY'
import sys

import xarray as xr

with xr.open_zarr(sys.argv[1]) as ds:
    print(ds)
    print("history:", ds.attrs["history"].splitlines()[0])
    assert int(ds["dt2m_dlatitude"].isnull().sum()) == 0
PY
echo "done: $work"
