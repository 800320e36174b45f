"""``--scheduler``: the command joins an existing cluster, here over TLS with certificates
made by openssl (a real LocalCluster listening on tls://127.0.0.1)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers import requires_distributed, requires_xarray, requires_zarr
from tests.test_cli import assert_same_values, reference, run_cli, sample, write_zarr

pytestmark = [
    requires_xarray,
    requires_zarr,
    requires_distributed,
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command"),
]


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
    assert without.returncode == 1 and "Traceback" not in without.stderr


def test_batch_example_is_valid_bash():
    script = Path(__file__).resolve().parents[1] / "examples" / "batch.sh"
    subprocess.run(["bash", "-n", str(script)], check=True)
