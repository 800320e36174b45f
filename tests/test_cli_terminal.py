"""What a user sees at a terminal: ``--version``, ``dir(daskgrad)``, and the status line
and progress bar of a run on a pseudo-terminal, checked on the emulated screen after
every write (no stray characters, an ETA only once it means something)."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from tests.helpers import requires_distributed, requires_xarray, requires_zarr

COLUMNS = 72


def test_version_flag():
    import daskgrad

    proc = subprocess.run(
        [sys.executable, "-m", "daskgrad", "--version"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"daskgrad {daskgrad.__version__}\n"
    from importlib.metadata import PackageNotFoundError, version

    try:
        assert version("daskgrad") == daskgrad.__version__
    except PackageNotFoundError:  # run from a checkout without installing it
        pass


def test_dir_lists_every_public_name():
    import daskgrad

    names = dir(daskgrad)
    assert set(daskgrad.__all__) <= set(names)
    assert {"gradient", "divergence", "vorticity"} <= set(names)
    assert names == sorted(names)
    for name in daskgrad.__all__:
        assert getattr(daskgrad, name) is not None


# ---------------------------------------------------------------- on a pseudo-terminal
def _run_on_a_terminal(args: list[str], cwd: Path) -> tuple[int, list[tuple[float, str]]]:
    """Run the command with stderr on a pty of COLUMNS columns: (status, timed writes)."""
    from tests.test_cli import cli_env

    primary, secondary = pty.openpty()
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 24, COLUMNS, 0, 0))
    start = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "daskgrad", *args],
        cwd=cwd,
        env=cli_env(),
        stdout=subprocess.DEVNULL,
        stderr=secondary,
    )
    os.close(secondary)
    writes: list[tuple[float, bytes]] = []
    try:
        while time.monotonic() - start < 300:
            ready, _, _ = select.select([primary], [], [], 1.0)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                data = os.read(primary, 65536)
            except OSError:  # the child closed its end
                break
            if not data:
                break
            writes.append((time.monotonic() - start, data))
        status = proc.wait(timeout=60)
    finally:
        os.close(primary)
        if proc.poll() is None:
            proc.kill()
    return status, [(t, data.decode()) for t, data in writes]


class _Screen:
    """The few terminal controls the command may use: text, ``\\r``, ``\\n``."""

    def __init__(self) -> None:
        self.lines: list[list[str]] = [[]]
        self.col = 0

    def feed(self, text: str) -> None:
        assert "\x1b" not in text, f"escape sequence written: {text!r}"
        for ch in text:
            if ch == "\r":
                self.col = 0
            elif ch == "\n":
                self.lines.append([])
                self.col = 0
            else:
                line = self.lines[-1]
                line.extend(" " * (self.col - len(line)))
                line[self.col : self.col + 1] = [ch]
                self.col += 1

    def rows(self) -> list[str]:
        return ["".join(line).rstrip() for line in self.lines]


STATUS = re.compile(r"^[-\\|/] [a-zA-Z ]+ \(\d+:\d\d\)$")
BAR = re.compile(
    r"^\[([#·]{20})\] +(\d+)% \| (\d+)/(\d+) chunks \| "
    r"(computing [-\\|/] \(\d+:\d\d\)|[\d.]+ [kMGT]?B/s( \| ETA \d+:\d\d)?)$"
)


@pytest.fixture(scope="module")
def small_input(tmp_path_factory) -> Path:
    from tests.test_cli import sample, write_zarr

    tmp = tmp_path_factory.mktemp("terminal")
    return write_zarr(sample(ntime=3), tmp / "in.zarr", {"time": 1})


RUN = ["--dim", "latitude", "--dim", "longitude", "--var", "t2m", "--workers", "1"]
RUN += ["--threads-per-worker", "1", "--no-dashboard"]


@requires_xarray
@requires_zarr
@requires_distributed
@pytest.mark.slow
def test_status_then_progress_bar_on_a_terminal(small_input, tmp_path):
    status, writes = _run_on_a_terminal(
        ["gradient", str(small_input), str(tmp_path / "out.zarr"), *RUN], tmp_path
    )
    assert status == 0, writes
    screen = _Screen()
    seen_status, seen_bar = [], []
    for _, text in writes:
        screen.feed(text)
        line = screen.rows()[-1]
        assert len(line) <= COLUMNS, line
        if line == "" or line.startswith("cluster: "):
            continue
        if STATUS.match(line):
            assert not seen_bar, f"status after the bar: {line!r}"
            seen_status.append(line)
            continue
        match = BAR.match(line)
        assert match, f"stray characters on the line: {line!r}"
        seen_bar.append(line)
        done, total = int(match[3]), int(match[4])
        if "ETA" in line:  # only once some chunks are done (or all of them)
            assert done >= 4 or done == total, line
    # the first thing drawn is the status line, before the cluster is started
    assert STATUS.match(writes[0][1].strip("\r")), writes[0]
    assert any("opening INPUT" in s for s in seen_status)
    assert any("starting a local cluster" in s for s in seen_status)
    rows = screen.rows()
    assert rows[-1] == "", rows  # the bar's line is ended
    assert re.match(r"^cluster: 1 workers, 1 threads$", rows[-3]), rows
    assert re.match(r"^\[#{20}\] 100% \| 6/6 chunks \| [\d.]+ [kMGT]?B/s \| ETA 0:00$", rows[-2]), (
        rows
    )


@requires_xarray
@requires_zarr
@requires_distributed
@pytest.mark.slow
def test_no_progress_draws_nothing_on_a_terminal(small_input, tmp_path):
    status, writes = _run_on_a_terminal(
        ["gradient", str(small_input), str(tmp_path / "out.zarr"), *RUN, "--no-progress"],
        tmp_path,
    )
    assert status == 0, writes
    text = "".join(text for _, text in writes)
    assert text == "cluster: 1 workers, 1 threads\r\n", text
