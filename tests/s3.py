"""A real S3-compatible server on 127.0.0.1 for the tests (moto's threaded server).

tests/conftest.py imports the fixture, so every test module can ask for it (importing it
again into a module would start a second server)::

    def test_something(s3_server, tmp_path):
        url = s3_server.url("my-store.zarr")          # s3://daskgrad-tests/<unique>/my-store.zarr
        run_cli("gradient", url, "out.zarr", "--storage-options", s3_server.options_json, ...)

The server runs in a thread of the pytest process for the whole session, listens on
127.0.0.1 only (asserted), and is stopped at the end. Every subprocess the tests start
sees ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``/``AWS_DEFAULT_REGION`` and
``AWS_ENDPOINT_URL_S3`` (set in ``os.environ`` while the session runs), so code that takes
credentials from the usual environment reaches this server too; ``--storage-options``
with :attr:`S3Server.options_json` says the same explicitly.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

__all__ = ["S3Server", "s3_server"]

BUCKET = "daskgrad-tests"
KEY = "testing-key"
SECRET = "testing-secret"


@dataclass(frozen=True)
class S3Server:
    """Where the test server is and how to reach it.

    Attributes
    ----------
    endpoint : str
        ``http://127.0.0.1:PORT``.
    bucket : str
        A bucket created when the server started.
    options : dict
        s3fs storage options: ``{"key", "secret", "client_kwargs": {"endpoint_url"}}``.
    options_json : str
        ``options`` as the command's ``--storage-options`` value.
    """

    endpoint: str
    bucket: str = BUCKET
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def options_json(self) -> str:
        return json.dumps(self.options)

    def url(self, name: str) -> str:
        """``s3://BUCKET/<unique prefix>/name``: a fresh place on every call."""
        return f"s3://{self.bucket}/{uuid.uuid4().hex[:12]}/{name.lstrip('/')}"

    def filesystem(self) -> Any:
        """A new ``s3fs.S3FileSystem`` on this server (no listing cache)."""
        import s3fs

        return s3fs.S3FileSystem(**self.options, use_listings_cache=False, skip_instance_cache=True)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _listening(port: int) -> list[str]:
    """Local addresses of this process's listening inet sockets on ``port``."""
    import psutil

    return [
        c.laddr.ip
        for c in psutil.Process(os.getpid()).net_connections("inet")
        if c.status == psutil.CONN_LISTEN and c.laddr.port == port
    ]


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """A moto S3 server on 127.0.0.1 with one bucket, for the whole test session."""
    pytest.importorskip("s3fs", reason="S3 tests need s3fs (pip install daskgrad[s3])")
    server_mod = pytest.importorskip("moto.server", reason="S3 tests need moto[server]")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    port = _free_port()
    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        listening = _listening(port)
        assert listening and set(listening) == {"127.0.0.1"}, listening
        endpoint = f"http://127.0.0.1:{port}"
        options = {"key": KEY, "secret": SECRET, "client_kwargs": {"endpoint_url": endpoint}}
        env = {
            "AWS_ACCESS_KEY_ID": KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL_S3": endpoint,
        }
        with pytest.MonkeyPatch.context() as mp:
            for name, value in env.items():
                mp.setenv(name, value)
            info = S3Server(endpoint=endpoint, options=options)
            info.filesystem().mkdir(BUCKET)
            yield info
    finally:
        server.stop()
