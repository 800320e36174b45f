"""``--scheduler``: the command joins an existing cluster, here over TLS with certificates
made by openssl (a real LocalCluster listening on tls://127.0.0.1), and gives up within
``--timeout`` with one line (exit 2) on addresses that are not a Dask scheduler:
listeners started here, on 127.0.0.1 only."""

from __future__ import annotations

import contextlib
import shutil
import socket
import socketserver
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import requires_distributed, requires_xarray, requires_zarr
from tests.test_cli import assert_same_values, reference, run_cli, sample, write_zarr

pytestmark = [
    requires_xarray,
    requires_zarr,
    requires_distributed,
    pytest.mark.slow,
]
needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


def _certificates(tmp: Path) -> tuple[str, str, str]:
    """A throwaway CA and a certificate for localhost/127.0.0.1 signed by it."""

    def ssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=tmp, check=True, capture_output=True)

    ssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=daskgrad-test-ca",
    )
    ssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "key.pem",
        "-out",
        "req.csr",
        "-subj",
        "/CN=localhost",
    )
    (tmp / "ext.cnf").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    ssl(
        "x509",
        "-req",
        "-in",
        "req.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "cert.pem",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    )
    return str(tmp / "ca.pem"), str(tmp / "cert.pem"), str(tmp / "key.pem")


@needs_openssl
def test_join_a_tls_cluster(tmp_path):
    from distributed import LocalCluster
    from distributed.security import Security

    ca, cert, key = _certificates(tmp_path)
    security = Security(
        tls_ca_file=ca,
        tls_scheduler_cert=cert,
        tls_scheduler_key=key,
        tls_worker_cert=cert,
        tls_worker_key=key,
        tls_client_cert=cert,
        tls_client_key=key,
        require_encryption=True,
    )
    src = write_zarr(sample(), tmp_path / "in.zarr", {"time": 1, "longitude": 36})
    with LocalCluster(
        n_workers=1,
        threads_per_worker=2,
        processes=False,
        protocol="tls://",
        host="127.0.0.1",
        security=security,
        dashboard_address="127.0.0.1:0",
    ) as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tls://")
        proc = run_cli(
            "gradient",
            src,
            tmp_path / "out.zarr",
            "--dim",
            "longitude",
            "--var",
            "t2m",
            "--scheduler",
            address,
            "--tls-ca",
            ca,
            "--tls-cert",
            cert,
            "--tls-key",
            key,
            cwd=tmp_path,
        )
        without = run_cli(
            "gradient",
            src,
            tmp_path / "plain.zarr",
            "--dim",
            "longitude",
            "--scheduler",
            address.replace("tls://", "tcp://"),
            cwd=tmp_path,
            timeout=120,
        )
    assert proc.returncode == 0, proc.stderr
    assert f"scheduler: {address}" in proc.stderr
    import xarray as xr

    with xr.open_zarr(src) as ds:
        assert_same_values(tmp_path / "out.zarr", reference(ds[["t2m"]], ["longitude"]))
    assert without.returncode == 2, without.stderr
    assert without.stderr.splitlines() == [
        f"daskgrad: error: {address.replace('tls://', 'tcp://')} does not speak the Dask "
        "protocol: it closed the connection (a tls:// scheduler? then give a tls:// address)"
    ]


def test_batch_example_is_valid_bash():
    script = Path(__file__).resolve().parents[1] / "examples" / "batch.sh"
    subprocess.run(["bash", "-n", str(script)], check=True)


# ---------------------------------------------------------------- bounded connect
TIMEOUT = 3  # --timeout of these runs
MARGIN = 60  # the interpreter's start and imports on a loaded 2-core machine


@contextlib.contextmanager
def _silent_listener() -> Iterator[str]:
    """A TCP port on 127.0.0.1 that accepts connections and never answers."""
    server = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                held.append(server.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"tcp://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        server.close()


class _HttpHandler(socketserver.BaseRequestHandler):
    """Answers whatever it is sent as a web server answers a request it cannot parse."""

    def handle(self) -> None:
        self.request.recv(65536)
        self.request.sendall(
            b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )


@contextlib.contextmanager
def _http_server() -> Iterator[str]:
    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), _HttpHandler) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"tcp://127.0.0.1:{server.server_address[1]}"
        finally:
            server.shutdown()
            thread.join()


def _join(address: str, tmp: Path) -> tuple[subprocess.CompletedProcess, float]:
    src = tmp / "in.zarr"
    if not src.exists():
        write_zarr(sample(ntime=1), src, {"time": 1})
    start = time.monotonic()
    proc = run_cli(
        "gradient",
        src,
        tmp / "out.zarr",
        "--dim",
        "longitude",
        "--scheduler",
        address,
        "--timeout",
        str(TIMEOUT),
        cwd=tmp,
        timeout=TIMEOUT + MARGIN + 30,
    )
    return proc, time.monotonic() - start


def test_a_port_that_never_answers_gives_up_after_the_timeout(tmp_path):
    with _silent_listener() as address:
        proc, seconds = _join(address, tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.splitlines() == [
        f"daskgrad: error: could not connect to the scheduler at {address} within {TIMEOUT} s: "
        "it accepted the connection but did not answer (is it a Dask scheduler?)"
    ]
    assert seconds < TIMEOUT + MARGIN
    assert not (tmp_path / "out.zarr").exists()


def test_an_http_server_is_not_a_scheduler(tmp_path):
    with _http_server() as address:
        proc, seconds = _join(address, tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.splitlines() == [
        f"daskgrad: error: {address} does not speak the Dask protocol: its answer is not a "
        "Dask message (an HTTP server, such as a dashboard?)"
    ]
    assert seconds < TIMEOUT + MARGIN
    assert not (tmp_path / "out.zarr").exists()


def test_nothing_listening_is_retried_until_the_timeout(tmp_path):
    with socket.create_server(("127.0.0.1", 0)) as taken:  # a free port, then closed
        port = taken.getsockname()[1]
    proc, seconds = _join(f"tcp://127.0.0.1:{port}", tmp_path)
    assert proc.returncode == 2, proc.stderr
    (line,) = proc.stderr.splitlines()
    assert line.startswith(
        f"daskgrad: error: could not connect to the scheduler at tcp://127.0.0.1:{port} "
        f"within {TIMEOUT} s (ConnectionRefusedError"
    ), line
    assert TIMEOUT - 0.5 < seconds < TIMEOUT + MARGIN


def test_the_probe_accepts_a_scheduler_and_refuses_a_worker():
    from distributed import LocalCluster

    from daskgrad._connect import probe_scheduler
    from daskgrad._usage import UsageError

    with LocalCluster(
        n_workers=1,
        processes=False,
        protocol="tcp://",
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
    ) as cluster:
        probe_scheduler(cluster.scheduler_address, timeout=10)
        worker = next(iter(cluster.scheduler_info["workers"]))
        with pytest.raises(UsageError, match="answered, but it is a Dask Worker, not a scheduler"):
            probe_scheduler(worker, timeout=10)


def test_a_bad_timeout_is_a_usage_error(tmp_path):
    proc = run_cli("gradient", "in.zarr", "out.zarr", "--dim", "x", "--timeout", "0", cwd=tmp_path)
    assert proc.returncode == 2
    assert "--timeout must be a positive number of seconds, got 0.0" in proc.stderr


# ---------------------------------------------------------------- errors on workers
def _error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if not line.startswith("cluster: ")]


def test_an_error_raised_on_a_worker_is_one_line(tmp_path):
    """A chunk of INPUT that does not decode fails in a worker's task: one line (no
    distributed log records, no traceback); ``--traceback`` shows the rest."""
    src = write_zarr(sample(ntime=2), tmp_path / "in.zarr", {"time": 1})
    (src / "t2m" / "1.0.0").write_bytes(b"not a compressed chunk")
    args = ["gradient", src, tmp_path / "out.zarr", "--dim", "longitude", "--var", "t2m"]
    args += ["--workers", "1", "--no-dashboard", "--no-progress"]
    proc = run_cli(*args, cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    (line,) = _error_lines(proc.stderr)
    assert line.startswith("daskgrad: error: ") and "decompress" in line, line
    # The first run may have written the chunk that decodes before failing (then OUTPUT
    # stays, for --resume): the task order decides. Replace it.
    verbose = run_cli("--traceback", *args, "--overwrite", cwd=tmp_path)
    assert verbose.returncode == 1, verbose.stderr
    assert "Traceback (most recent call last)" in verbose.stderr


def test_workers_that_cannot_start_name_the_memory_limit(tmp_path):
    src = write_zarr(sample(ntime=1), tmp_path / "in.zarr", {"time": 1})
    proc = run_cli(
        "gradient",
        src,
        tmp_path / "out.zarr",
        "--dim",
        "longitude",
        "--workers",
        "1",
        "--memory-limit",
        "1MiB",
        "--no-dashboard",
        cwd=tmp_path,
    )
    assert proc.returncode == 1, proc.stderr
    assert _error_lines(proc.stderr) == [
        "daskgrad: error: RuntimeError: the local workers stopped as they started "
        "(is --memory-limit 1MiB enough for a worker process?)"
    ]
