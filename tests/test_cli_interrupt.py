"""Ctrl-C in the middle of a run: exit status 130 and one line, a hint to ``--resume``.

A terminal sends SIGINT to its whole foreground process group: the command and its
local worker processes. The test does the same (the command leads a process group of
its own), so workers that answered the signal themselves would show up here as
KeyboardInterrupt tracebacks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from tests.helpers import requires_distributed, requires_xarray, requires_zarr
from tests.test_cli import DIMS, cli_env, sample, write_zarr
from tests.test_cli_faults import _wait_for_chunks

pytestmark = [requires_xarray, requires_zarr, requires_distributed, pytest.mark.slow]


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_exits_130_with_a_resume_hint(tmp_path):
    src = write_zarr(sample(ntime=16), tmp_path / "in.zarr", {"time": 1, "longitude": 36})
    out = tmp_path / "out.zarr"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "daskgrad",
            "gradient",
            str(src),
            str(out),
            *DIMS,
            "--workers",
            "1",
            "--threads-per-worker",
            "1",
            "--no-dashboard",
        ],
        cwd=tmp_path,
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # a terminal's Ctrl-C: SIGINT at its default disposition in the child, even when
        # this test runs in the background (``cmd &`` starts with SIGINT ignored, and a
        # Python started that way never raises KeyboardInterrupt: it ran to the end)
        preexec_fn=_default_sigint,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )
    try:
        _wait_for_chunks(out, proc, 1)
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C: the command and its workers
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, stderr
    lines = [line for line in stderr.splitlines() if not line.startswith("cluster: ")]
    assert lines == ["daskgrad: interrupted; run again with --resume to finish"], stderr
