"""The embedded cluster's dashboard: on by default, printed, served on 127.0.0.1 only."""

from __future__ import annotations

import io
import urllib.request

import pytest

from tests.helpers import listening_sockets, requires_bokeh, requires_distributed

pytestmark = [requires_distributed, requires_bokeh, pytest.mark.slow]


def test_dashboard_is_printed_served_and_local_only():
    import os

    import psutil

    from daskgrad._connect import ClusterOptions, connect

    log = io.StringIO()
    opts = ClusterOptions(workers=1, threads_per_worker=1, dashboard=True)
    with connect(opts, log) as client:
        lines = log.getvalue().splitlines()
        link = next(line.split(" ", 1)[1] for line in lines if line.startswith("dashboard:"))
        assert link.startswith("http://127.0.0.1:") and link.endswith("/status"), link
        with urllib.request.urlopen(link, timeout=30) as response:
            assert response.status == 200
            assert b"<html" in response.read(4096).lower()
        port = int(link.split(":")[2].split("/")[0])
        workers = [p.pid for p in psutil.Process(os.getpid()).children(recursive=True)]
        listening = listening_sockets([os.getpid(), *workers])
        assert len(client.nthreads()) == 1
    assert (("127.0.0.1", port)) in listening, listening
    assert all(ip == "127.0.0.1" for ip, _ in listening), listening


def test_no_dashboard_serves_no_dashboard():
    """``--no-dashboard``: nothing printed, and the scheduler's HTTP server (health and
    metrics only, still on 127.0.0.1) answers 404 for the dashboard's page."""
    import urllib.error

    from daskgrad._connect import ClusterOptions, connect

    log = io.StringIO()
    opts = ClusterOptions(workers=1, threads_per_worker=1, dashboard=False)
    with connect(opts, log) as client:
        assert not any(line.startswith("dashboard:") for line in log.getvalue().splitlines())
        port = client.scheduler_info()["services"]["dashboard"]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=30) as r:
            assert r.status == 200
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/status", timeout=30)
        assert err.value.code == 404
