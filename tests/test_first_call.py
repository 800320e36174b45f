"""The first calls in a fresh process never wait for numba (``daskgrad/kernels/_ready.py``).

Small first calls use the reference kernel (same bits as the fused one); a big block
starts ONE detached warm-up per machine that compiles the fused kernel into numba's
cache and writes a stamp; later processes load the warm kernel. Checked in fresh
interpreters: many processes filling one empty cache at once, a read-only install,
the forced modes; in process: the dispatch's bits whichever kernel runs, and the
readiness rules.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from daskgrad.kernels import AxisSpec, _ready, _stamp, gradient_block

from .helpers import requires_numba

ROOT = Path(__file__).resolve().parents[1]

# Small calls (2-D float64, 3-D float32 threaded) and one big block (2**18 elements):
# numpy.gradient's bits; prints whether numba was imported and the kernel's state.
CHECK = textwrap.dedent(
    """
    import json, sys, numpy as np, daskgrad
    from daskgrad.kernels import _ready
    if len(sys.argv) > 1:
        _ready.LOAD_AFTER_S = float(sys.argv[1])
    rng = np.random.default_rng(0)
    a = rng.random((73, 144))
    b = rng.random((8, 73, 144)).astype(np.float32)
    c = rng.random((64, 64, 64))
    for f in (a, b, c, c.astype(np.float32)):
        for got, want in zip(daskgrad.gradient(f), np.gradient(f)):
            assert got.dtype == want.dtype and np.array_equal(got, want)
    state = daskgrad.kernels.kernel_state()
    print(json.dumps({"numba": "numba" in sys.modules, "state": state}))
    """
)


def _env(**extra: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DASKGRAD_KERNEL", "NUMBA_CACHE_DIR")}
    env["PYTHONPATH"] = str(ROOT)
    for k, v in extra.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return env


def _start(env: dict[str, str], *args: str, code: str = CHECK) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-W", "error", "-c", code, *args],
        cwd=env.get("PYTHONPATH", ROOT),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(proc: subprocess.Popen) -> dict:
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, out + err
    assert not err.strip(), err
    return json.loads(out.strip().splitlines()[-1])


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return status.rsplit(")", 1)[1].split()[0] != "Z"  # an unreaped zombie has ended


def _warm_pids(key_dir: Path) -> list[int]:
    """The pids of warm-ups whose command names this stamp directory's cache."""
    pids = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            cmd = (proc / "cmdline").read_bytes().decode(errors="replace")
            env = (proc / "environ").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if "daskgrad.kernels._warm" in cmd and str(key_dir) in env:
            pids.append(int(proc.name))
    return pids


def _wait_warm(cache_root: Path, marker: Path, timeout: float = 400.0) -> dict:
    """Wait for the stamp under ``cache_root/daskgrad`` and for every warm-up to end."""
    deadline = time.monotonic() + timeout
    stamps: list[Path] = []
    while time.monotonic() < deadline:
        stamps = list((cache_root / "daskgrad").glob("warm-*.json"))
        if stamps and not [p for p in _warm_pids(marker) if _alive(p)]:
            break
        time.sleep(0.5)
    assert stamps, f"no stamp in {cache_root} after {timeout} s"
    assert not [p for p in _warm_pids(marker) if _alive(p)], "a warm-up did not end"
    return json.loads(stamps[0].read_text())


def _snapshot(root: Path) -> set:
    return {
        (str(p.relative_to(root)), p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*")
    }


@pytest.fixture(scope="module")
def warmups(tmp_path_factory):
    """Both slow scenarios at once (each compiles once; two cores run them together):
    four fresh processes on one empty ``NUMBA_CACHE_DIR``, and a read-only install with
    a fresh home and no ``NUMBA_CACHE_DIR``."""
    pytest.importorskip("numba")
    tmp = tmp_path_factory.mktemp("first-call")
    many = tmp / "many-cache"
    many_env = _env(NUMBA_CACHE_DIR=str(many))
    site, home = tmp / "site", tmp / "home"
    shutil.copytree(
        ROOT / "daskgrad", site / "daskgrad", ignore=shutil.ignore_patterns("__pycache__")
    )
    if os.geteuid() == 0:  # root writes through a-w modes: a file blocks __pycache__
        for pkg in (site / "daskgrad", site / "daskgrad" / "kernels"):
            (pkg / "__pycache__").write_text("")
    for p in [site, *site.rglob("*")]:
        p.chmod(p.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    ro_env = _env(HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"), PYTHONPATH=str(site))
    ro_env["PYTHONDONTWRITEBYTECODE"] = "1"
    before = _snapshot(site)
    procs = [_start(many_env) for _ in range(4)]
    ro_first = _start(ro_env)
    result = {"many_first": [_finish(p) for p in procs], "ro_first": _finish(ro_first)}
    result["many_stamp"] = _wait_warm(many, many)
    result["many_log"] = list((many / "daskgrad").glob("warm-*.log"))[0].read_text()
    result["ro_stamp"] = _wait_warm(home / ".cache", home)
    result["ro_loaded"] = _finish(_start(ro_env, "0"))
    result["ro_changed"] = _snapshot(site) ^ before
    result.update(many=many, many_env=many_env)
    yield result
    for p in [site, *site.rglob("*")]:
        p.chmod(p.stat().st_mode | stat.S_IWUSR)


@pytest.mark.slow
def test_many_processes_one_warm_up(warmups):
    """Four fresh processes with big blocks at once: numpy's bits without importing
    numba; one warm-up compiled (the lock), its stamp lists existing index files, every
    warm-up ended by itself; a fifth process loads the kernel from the cache."""
    assert all(r == {"numba": False, "state": r["state"]} for r in warmups["many_first"])
    assert {r["state"] for r in warmups["many_first"]} <= {"pending", "reference"}
    assert warmups["many_log"].count("compiled warm") == 1, warmups["many_log"]
    stamp = warmups["many_stamp"]
    assert stamp["state"] == "warm" and len(stamp["indexes"]) == 2
    assert all(Path(p).is_file() and str(warmups["many"]) in p for p in stamp["indexes"])
    assert _finish(_start(warmups["many_env"], "0")) == {"numba": True, "state": "loaded"}


@pytest.mark.slow
def test_read_only_install(warmups):
    """A read-only package, a fresh home: no error or warning, numpy's bits, the warm-up
    caches in the user's cache directory, nothing is written into the package."""
    assert warmups["ro_first"]["numba"] is False
    assert warmups["ro_stamp"]["state"] == "warm"
    assert warmups["ro_loaded"] == {"numba": True, "state": "loaded"}
    assert not warmups["ro_changed"]


# Every specialisation the dispatch reaches was compiled by the warm-up: no misses.
BATTERY = textwrap.dedent(
    """
    import json, numpy as np, daskgrad, dask, dask.array as da
    from daskgrad.kernels import _numba_sweep as s
    rng = np.random.default_rng(0)
    x = np.cumsum(rng.uniform(0.5, 1.5, 64))
    big = rng.random((64, 64, 64))
    cases = [
        (big, (), {}),
        (big.astype(np.float32), (), {}),
        (big.astype(np.float32), (0.5, x, 2.0), {"edge_order": 2}),
        (big.astype(np.float32), (np.float64(0.5), x, np.float64(2.0)), {}),
        (big[:, 3:40, ::2], (), {}),
        (rng.random(100).astype(np.float32), (), {}),
    ]
    for f, sp, kw in cases:
        d = da.from_array(f, chunks=[max(3, n // 3) for n in f.shape])
        for g in (daskgrad.gradient(f, *sp, **kw), dask.compute(*daskgrad.gradient(d, *sp, **kw),
                  scheduler="threads")):
            for got, want in zip(g, np.gradient(f, *sp, **kw)):
                assert got.dtype == want.dtype and np.array_equal(got, want)
    disp = (s.sweep_serial, s.sweep_parallel)
    print(json.dumps({"state": daskgrad.kernels.kernel_state(),
                      "misses": [sum(d.stats.cache_misses.values()) for d in disp],
                      "hits": [len(d.stats.cache_hits) for d in disp]}))
    """
)


@pytest.mark.slow
def test_forced_numba_mode_loads_every_specialisation_from_the_cache(warmups):
    env = dict(warmups["many_env"], DASKGRAD_KERNEL="numba")
    got = _finish(_start(env, code=BATTERY))
    assert got == {"state": "loaded", "misses": [0, 0], "hits": [3, 3]}


def test_small_first_calls_never_import_numba(tmp_path):
    """The issue's first calls (with a Dask task): the reference, no numba, no warm-up."""
    pytest.importorskip("dask")
    code = textwrap.dedent(
        """
        import json, sys, numpy as np, daskgrad, dask.array as da
        for f in (np.ones((73, 144)), np.ones((8, 73, 144), np.float32)):
            assert all(np.array_equal(g, w) for g, w in zip(daskgrad.gradient(f), np.gradient(f)))
        g = daskgrad.gradient(da.ones((73, 144), chunks=37))[0].compute(scheduler="threads")
        assert np.array_equal(g, np.zeros((73, 144)))
        state = daskgrad.kernels.kernel_state()
        print(json.dumps({"numba": "numba" in sys.modules, "state": state}))
        """
    )
    got = _finish(_start(_env(NUMBA_CACHE_DIR=str(tmp_path)), code=code))
    assert got == {"numba": False, "state": "reference"}
    assert not (tmp_path / "daskgrad").exists()  # nothing spawned, nothing written


def test_forced_reference_mode_never_starts_a_warm_up(tmp_path):
    env = _env(NUMBA_CACHE_DIR=str(tmp_path), DASKGRAD_KERNEL="reference")
    assert _finish(_start(env)) == {"numba": False, "state": "reference"}
    assert not (tmp_path / "daskgrad").exists()


def test_unknown_mode_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("DASKGRAD_KERNEL", "fastest")
    with pytest.raises(ValueError, match="DASKGRAD_KERNEL='fastest': expected one of auto"):
        gradient_block(np.ones(4), (AxisSpec(0, 1, h=1.0),), np.float64)


# ------------------------------------------------------------ bits, whichever kernel runs
def _coords(rng, n):
    return np.cumsum(rng.uniform(0.3, 1.7, n))


@requires_numba
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("spacing", ["float", "numpy64", "coords", "faces"])
@pytest.mark.parametrize("eo", [1, 2])
@pytest.mark.parametrize("ndim", [1, 2, 3])
def test_same_bits_in_every_mode(ndim, eo, spacing, dtype, rng, monkeypatch):
    f = rng.standard_normal((9, 8, 7)[:ndim]).astype(dtype)
    specs = []
    for ax in range(ndim):
        if spacing == "coords":
            specs.append(AxisSpec(ax, eo, dx=np.diff(_coords(rng, f.shape[ax]))))
        elif spacing == "faces" and ax == 0:
            lo, hi = f[:2].copy(), f[-1:].copy()
            specs.append(AxisSpec(ax, eo, h=0.5, lo=lo, hi=hi))
        else:
            specs.append(AxisSpec(ax, eo, h=np.float64(0.7) if spacing == "numpy64" else 0.7))
    outs = {}
    for mode in ("reference", "numba", "auto"):
        monkeypatch.setenv("DASKGRAD_KERNEL", mode)
        outs[mode] = gradient_block(f, tuple(specs), f.dtype, parallel=True)
    for mode in ("numba", "auto"):
        for got, want in zip(outs[mode], outs["reference"], strict=True):
            assert got.dtype == want.dtype
            np.testing.assert_array_equal(got, want, strict=True)


# ------------------------------------------------------------------ readiness rules
@pytest.fixture
def fresh(monkeypatch, tmp_path):
    """A fresh readiness state, a stamp directory of its own, spawns recorded."""
    monkeypatch.setattr(_ready, "_STATE", _ready._State())
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("DASKGRAD_KERNEL", raising=False)
    monkeypatch.setattr(_stamp, "_KEY", ["k" * 24])
    spawned, loaded = [], []
    monkeypatch.setattr(_ready, "_spawn", lambda key: spawned.append(key))
    monkeypatch.setattr(_ready, "load", lambda: loaded.append(1))
    return spawned, loaded


def test_small_work_starts_nothing(fresh):
    spawned, loaded = fresh
    for _ in range(100):
        _ready.after_reference(10_000, 1e-4)  # 0.01 s in all
    assert spawned == [] and loaded == []


def test_big_block_starts_one_warm_up_from_many_threads(fresh):
    spawned, _ = fresh
    threads = [
        threading.Thread(target=_ready.after_reference, args=(1 << 18, 0.01)) for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    _ready._STATE.checked_at = -float("inf")
    _ready._STATE.spawned_at = time.monotonic()  # started a moment ago: not again
    _ready.after_reference(1 << 18, 0.01)
    assert spawned == ["k" * 24]


def test_warm_stamp_loads_once_the_reference_took_long_enough(fresh, tmp_path):
    spawned, loaded = fresh
    index = tmp_path / "index.nbi"
    index.write_text("")
    assert _stamp.write_stamp("k" * 24, {"state": "warm", "indexes": [str(index)]})
    _ready.after_reference(1 << 20, 0.1)  # warm, but loading would cost more so far
    assert loaded == []
    _ready._STATE.checked_at = -float("inf")
    _ready.after_reference(1 << 20, _ready.LOAD_AFTER_S)
    assert loaded == [1] and spawned == []


@pytest.mark.parametrize("state", ["failed", "uncacheable"])
def test_failed_or_uncacheable_stamp_keeps_the_reference(fresh, state):
    spawned, loaded = fresh
    assert _stamp.write_stamp("k" * 24, {"state": state})
    _ready.after_reference(1 << 20, 10.0)
    assert spawned == [] and loaded == [] and _ready.state() in ("unavailable", "loaded")


def test_stamp_rules(tmp_path, monkeypatch):
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    index = tmp_path / "x.nbi"
    index.write_text("")
    assert _stamp.write_stamp("a" * 24, {"state": "warm", "indexes": [str(index)]})
    assert _stamp.read_stamp("a" * 24)["state"] == "warm"
    assert _stamp.read_stamp("b" * 24) is None
    index.unlink()  # the cache was deleted: not warm any more
    assert _stamp.read_stamp("a" * 24) is None
    monkeypatch.setenv("NUMBA_CACHE_DIR", "/dev/null/cache")
    assert not _stamp.write_stamp("a" * 24, {"state": "warm"})
    assert _stamp.read_stamp("a" * 24) is None


def test_warm_up_exits_at_once_when_another_holds_the_lock(tmp_path, monkeypatch):
    pytest.importorskip("fcntl")
    import fcntl

    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    key = _stamp.cache_key()
    if key is None:
        pytest.skip("requires numba")
    lock = _stamp.lock_path(key)
    lock.parent.mkdir(parents=True)
    with open(lock, "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        code = f"from daskgrad.kernels._warm import main; raise SystemExit(main({key!r}))"
        proc = subprocess.run(
            [sys.executable, "-c", code], env=_env(NUMBA_CACHE_DIR=str(tmp_path)), timeout=60
        )
    assert proc.returncode == 0  # at once: the test's timeout is far below a compile
    code = "from daskgrad.kernels._warm import main; raise SystemExit(main('0' * 24))"
    proc = subprocess.run(
        [sys.executable, "-c", code], env=_env(NUMBA_CACHE_DIR=str(tmp_path)), timeout=60
    )
    assert proc.returncode == 2  # another copy's key: nothing to do
    assert not list(tmp_path.glob("daskgrad/*.json"))
