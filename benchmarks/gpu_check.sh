#!/usr/bin/env bash
# daskgrad's GPU check: ONE command on a machine with an NVIDIA GPU, under 5 minutes.
#
#   bash benchmarks/gpu_check.sh                 # from anywhere; the repo is this file's ../
#   bash benchmarks/gpu_check.sh --fetch-wheels  # on a machine WITH network: put the
#                                                # wheels an offline GPU machine lacks in .whl/
#
# What it does, each step under `timeout`, the whole under $DASKGRAD_GPU_BUDGET s (290):
#   1. prints the card: nvidia-smi --query-gpu=name,memory.total,driver_version, and the
#      CUDA version the driver supports (exit 2 when there is no NVIDIA driver/GPU);
#   2. CuPy: uses an importable `cupy` that sees a GPU; else installs from .whl/ when it
#      holds a cupy wheel; else `pip install cupy-cuda13x` (driver CUDA >= 13) or
#      `cupy-cuda12x` (CUDA 12), into $DASKGRAD_SITE (/tmp/daskgrad-gpu-site, put on
#      PYTHONPATH: nothing in the system's site-packages changes). If that fails for
#      want of network it says so and exits 3;
#   3. Dask (for the Dask-with-CuPy-chunks rows and tests): importable, or from .whl/,
#      or `pip install "dask[array]"`; if none works the Dask rows are skipped, the
#      table says so, and the exit status is 4 (an incomplete run);
#   4. daskgrad itself runs from this checkout through PYTHONPATH (no build step: an
#      editable install would need setuptools from the network under build isolation);
#   5. `python -m pytest -m gpu` on the test files that use the marker (tests/test_gpu.py;
#      with pytest-xdist when it is there);
#   6. `python benchmarks/gpu_bench.py --out benchmarks/GPU.md`: CuPy in memory vs
#      cupy.gradient and the copy-bandwidth floor, Dask with CuPy chunks vs
#      dask.array.gradient, each result checked against numpy.gradient on the host;
#   7. copies GPU.md and the logs into $OUT when it is set (the device tool returns them).
# Knobs: PYTHON (python3), DASKGRAD_WHEELS (.whl), DASKGRAD_SITE, DASKGRAD_GPU_TABLE
# (benchmarks/GPU.md), DASKGRAD_GPU_BUDGET (290 s), DASKGRAD_GPU_XDIST (pytest-xdist
# processes, 8; 0 = none), DASKGRAD_GPU_PYTEST_ARGS and
# DASKGRAD_GPU_BENCH_ARGS (extra arguments; the CPU rehearsal uses them).
#
# Exit status: 0 all passed; 1 a gpu test or a daskgrad row failed; 2 no GPU; 3 no CuPy
# and no way to install it; 4 Dask missing (partial table); 124 out of time.
#
# On an offline machine (such as this workplace's device machines), carry the wheels:
# run `bash benchmarks/gpu_check.sh --fetch-wheels` where there is network (it fills
# .whl/, which .gitignore ignores), then run the check with .whl carried along
# (device tool: run(command="bash benchmarks/gpu_check.sh", carry=[".whl"])).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
PY=${PYTHON:-python3}
WHEELS=${DASKGRAD_WHEELS:-$REPO/.whl}
SITE=${DASKGRAD_SITE:-/tmp/daskgrad-gpu-site}
TABLE=${DASKGRAD_GPU_TABLE:-$REPO/benchmarks/GPU.md}
BUDGET=${DASKGRAD_GPU_BUDGET:-290}
# extra arguments (word-split), for the CPU rehearsal in tests/test_benchmarks_gpu.py
read -r -a PYTEST_EXTRA <<<"${DASKGRAD_GPU_PYTEST_ARGS:-}"
read -r -a BENCH_EXTRA <<<"${DASKGRAD_GPU_BENCH_ARGS:-}"
LOGS=$(mktemp -d /tmp/daskgrad-gpu-check.XXXXXX)
export PYTHONUNBUFFERED=1
export PYTHONPATH="$REPO:$SITE${PYTHONPATH:+:$PYTHONPATH}"

say() { printf '\n== %s (%ds)\n' "$*" "$SECONDS"; }
die() {
  local code=$1
  shift
  printf 'gpu_check: FAILED: %s\n' "$*" >&2
  save_out
  exit "$code"
}
save_out() {
  if [[ -n ${OUT:-} ]]; then
    mkdir -p "$OUT"
    cp -f "$LOGS"/*.log "$OUT"/ 2>/dev/null || true
    if [[ -f $TABLE ]]; then cp -f "$TABLE" "$OUT"/; fi
  fi
}
# step SECONDS CMD...: CMD under `timeout`, given at most what is left of the budget
step() {
  local want=$1 have
  shift
  have=$((BUDGET - SECONDS))
  if ((have < want)); then want=$have; fi
  if ((want < 5)); then
    echo "gpu_check: out of time before: $*" >&2
    return 124
  fi
  timeout --kill-after=5 "$want" "$@"
}
# net_hint LOG: why pip failed, in one line
net_hint() {
  if grep -qiE 'network is unreachable|failed to establish|temporary failure in name|name or service not known|connection (refused|timed out)|max retries|no matching distribution|could not find a version' "$1"; then
    echo "no network (pip could not reach the package index)"
  else
    echo "pip failed: $(tail -n 3 "$1" | tr '\n' ' ')"
  fi
}
has_wheel() { compgen -G "$WHEELS/$1" >/dev/null; }
pip_target() { step "$1" "$PY" -m pip install -q --disable-pip-version-check --target "$SITE" "${@:2}"; }

if [[ ${1:-} == --fetch-wheels ]]; then
  # pure-Python wheels the device machines' image lacks (it has numpy, cupy, numba,
  # toolz, cloudpickle, fsspec, pyyaml, click, packaging, pytest, hypothesis, xdist)
  mkdir -p "$WHEELS"
  "$PY" -m pip download -q --no-deps --only-binary=:all: --python-version "${WHEEL_PYTHON:-3.12}" \
    -d "$WHEELS" dask partd locket importlib_metadata zipp lazy-importer # the last 3: Python < 3.12
  ls -l "$WHEELS"
  echo "carry $WHEELS to the GPU machine (device tool: carry=[\".whl\"])"
  exit 0
fi
if [[ $# -gt 0 ]]; then
  sed -n '2,38p' "$0"
  exit 64
fi

say "daskgrad GPU check: $(date -u '+%Y-%m-%d %H:%M UTC') on $(uname -n) ($(uname -m)), $($PY --version 2>&1)"
git -C "$REPO" log -1 --format='commit %h %s' 2>/dev/null || echo "(not a git checkout)"

say "1. the card"
if ! command -v nvidia-smi >/dev/null; then die 2 "nvidia-smi not found: no NVIDIA driver on this machine"; fi
step 30 nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || die 2 "nvidia-smi sees no GPU"
CUDA_MAJOR=$(step 30 nvidia-smi | sed -n 's/.*CUDA Version: *\([0-9][0-9]*\).*/\1/p' | head -n 1 || true)
echo "driver's CUDA version: ${CUDA_MAJOR:-unknown}"

say "2. CuPy"
cupy_ok() {
  step 60 "$PY" -c 'import cupy, sys
n = cupy.cuda.runtime.getDeviceCount()
p = cupy.cuda.runtime.getDeviceProperties(0)
print("cupy", cupy.__version__, "at", cupy.__file__, "sees", n, "GPU(s)")
name = p["name"].decode() if isinstance(p["name"], bytes) else p["name"]
print("device 0:", name, "| cc %d.%d |" % (p["major"], p["minor"]),
      "%.1f GiB |" % (p["totalGlobalMem"] / 2**30), p["multiProcessorCount"], "SMs")
sys.exit(n < 1)'
}
if ! cupy_ok; then
  if has_wheel 'cupy*.whl'; then
    echo "cupy is not usable: installing the cupy wheel(s) in $WHEELS"
    pip_target 120 --no-index --no-deps "$WHEELS"/cupy*.whl "$WHEELS"/fastrlock*.whl 2>&1 | tee "$LOGS/pip-cupy.log" ||
      die 3 "installing CuPy from $WHEELS failed"
  else
    case ${CUDA_MAJOR:-0} in
      1[3-9] | [2-9][0-9]) PKG=cupy-cuda13x ;;
      12) PKG=cupy-cuda12x ;;
      *) die 3 "cupy is not importable and the driver's CUDA version (${CUDA_MAJOR:-unknown}) has no cupy-cuda12x/13x wheel" ;;
    esac
    echo "cupy is not usable: pip install $PKG (into $SITE)"
    if ! pip_target 150 "$PKG" >"$LOGS/pip-cupy.log" 2>&1; then
      cat "$LOGS/pip-cupy.log" >&2
      die 3 "CuPy is not importable and pip install $PKG failed: $(net_hint "$LOGS/pip-cupy.log"). Bring a wheel: pip download $PKG fastrlock into .whl/ where there is network, carry .whl, rerun."
    fi
  fi
  cupy_ok || die 3 "CuPy installed but cannot use the GPU (see above)"
fi

say "3. Dask and the test tools"
BENCH_ARGS=()
DASK_MISSING=0
if ! step 60 "$PY" -c 'import dask.array, dask; print("dask", dask.__version__)'; then
  if has_wheel 'dask-*.whl'; then
    echo "installing the wheels in $WHEELS:"
    ls "$WHEELS"
    pip_target 60 --no-index --no-deps "$WHEELS"/*.whl 2>&1 | tee "$LOGS/pip-dask.log" || true
  else
    echo "dask is not importable: pip install 'dask[array]' (into $SITE)"
    pip_target 90 "dask[array]" >"$LOGS/pip-dask.log" 2>&1 || echo "  $(net_hint "$LOGS/pip-dask.log")"
  fi
  if ! step 60 "$PY" -c 'import dask.array, dask; print("dask", dask.__version__)'; then
    DASK_MISSING=1
    BENCH_ARGS+=(--no-dask)
    echo "gpu_check: WARNING: dask could not be installed: the Dask-with-CuPy rows and tests are" \
      "SKIPPED (exit status 4). Fix: bash benchmarks/gpu_check.sh --fetch-wheels where there is" \
      "network, carry .whl, rerun." >&2
  fi
fi
for mod in pytest hypothesis; do
  if ! step 30 "$PY" -c "import $mod" 2>/dev/null; then
    echo "$mod is not importable: pip install $mod (into $SITE)"
    pip_target 60 "$mod" >"$LOGS/pip-$mod.log" 2>&1 || echo "  $(net_hint "$LOGS/pip-$mod.log")"
  fi
done
step 30 "$PY" -c 'import daskgrad, numpy; print("daskgrad from", daskgrad.__file__, "| numpy", numpy.__version__)' ||
  die 1 "daskgrad does not import from $REPO"

say "4. the gpu-marked tests"
mapfile -t GPU_TESTS < <(grep -rl --include='test_*.py' 'pytest.mark.gpu' tests | sort)
XDIST=()
NPROC=${DASKGRAD_GPU_XDIST:-8}
if ((NPROC > 1)) && "$PY" -c 'import xdist' 2>/dev/null; then XDIST=(-n "$NPROC"); fi
TESTS_RC=0
# keep at least 150 s of the budget for the benchmark
TEST_BUDGET=$((BUDGET - SECONDS - 150))
if ((TEST_BUDGET > 120)); then TEST_BUDGET=120; fi
if ((TEST_BUDGET < 20)); then TEST_BUDGET=20; fi
echo "python -m pytest -m gpu -q ${XDIST[*]} ${GPU_TESTS[*]} (at most ${TEST_BUDGET}s)"
step "$TEST_BUDGET" "$PY" -m pytest -m gpu -q -rfEs -p no:cacheprovider "${XDIST[@]}" "${PYTEST_EXTRA[@]}" "${GPU_TESTS[@]}" \
  2>&1 | tee "$LOGS/pytest-gpu.log" || TESTS_RC=$?
if ((TESTS_RC == 0)) && ! grep -qE '[0-9]+ passed' "$LOGS/pytest-gpu.log"; then
  echo "gpu_check: no gpu test passed (all skipped?)" >&2
  TESTS_RC=1
fi

say "5. the benchmark"
BENCH_RC=0
step 200 "$PY" benchmarks/gpu_bench.py --out "$TABLE" "${BENCH_ARGS[@]}" "${BENCH_EXTRA[@]}" 2>&1 |
  tee "$LOGS/gpu-bench.log" || BENCH_RC=$?

save_out
say "summary"
echo "table: $TABLE${OUT:+ (and \$OUT/$(basename "$TABLE"))}"
echo "gpu tests: $([[ $TESTS_RC == 0 ]] && echo passed || echo "FAILED (rc $TESTS_RC)")"
echo "benchmark: $([[ $BENCH_RC == 0 ]] && echo "every daskgrad row matches numpy.gradient" || echo "FAILED (rc $BENCH_RC)")"
if ((TESTS_RC == 124 || BENCH_RC == 124)); then exit 124; fi
if ((TESTS_RC != 0 || BENCH_RC != 0)); then exit 1; fi
if ((DASK_MISSING)); then
  echo "INCOMPLETE: dask was not installed, the Dask rows are missing"
  exit 4
fi
echo "all passed in ${SECONDS}s"
