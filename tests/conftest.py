"""Shared fixtures, Hypothesis profiles, and the ``dask`` and ``cli`` markers.

``pytest -m dask`` selects every test that exercises Dask, so that CI can run them
again under dask's array-expression mode. A module is marked when it is listed in
:data:`DASK_MODULES`, or when it says so itself with ``pytestmark = pytest.mark.dask``
(the easiest way for a new module). Doctests of the library modules in
:data:`DASK_DOCTEST_MODULES` are marked too.

Every ``test_cli*`` module is also marked ``cli``: its subject is a ``python -m
daskgrad`` subprocess. CI runs ``-m "dask and not cli"`` with
``DASK_ARRAY__QUERY_PLANNING=True`` in the test process, and ``-m "dask and cli"``
with ``DASKGRAD_TEST_CLI_QUERY_PLANNING=True``, which ``tests.test_cli.cli_env``
turns into ``DASK_ARRAY__QUERY_PLANNING=True`` for the command (and its workers)
only: the command runs in array-expression mode, while the test's own inputs and
oracles are made in classic mode (dask 2026.8's array-expression arrays have no
``__array__``, and ``xarray.Dataset.to_zarr`` of them raises NotImplementedError).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

from tests.s3 import s3_server  # noqa: F401  (one session-wide S3 server for every module)

settings.register_profile(
    "ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "dev", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


@pytest.fixture(autouse=True)
def _sync_dask_scheduler():
    """Run dask computes in tests on the synchronous scheduler unless a test says otherwise."""
    try:
        import dask
    except ImportError:
        yield
        return
    with dask.config.set(scheduler="sync"):
        yield


DASK_MODULES = frozenset(
    {
        "test_array_expr",
        "test_benchmarks",
        "test_chunked",
        "test_cli_cluster",
        "test_cli_formats",
        "test_cli_inputs",
        "test_cli_operators",
        "test_cli_runs",
        "test_core_examples",
        "test_dashboard",
        "test_datasets",
        "test_dtypes",
        "test_errors",
        "test_geo",
        "test_gpu",
        "test_io",
        "test_laziness",
        "test_oracle_table",
        "test_properties",
        "test_store",
        "test_torch_form",
        "test_vector",
        "test_xarray_accessor",
        "test_zero_chunks",
    }
)
DASK_DOCTEST_MODULES = frozenset({"_compat", "chunked", "datasets", "vector", "xarray"})


def _exercises_dask(item: pytest.Item) -> bool:
    path = Path(str(item.path))
    if isinstance(item, pytest.DoctestItem):
        return path.parent.name == "daskgrad" and path.stem in DASK_DOCTEST_MODULES
    return path.stem in DASK_MODULES


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test of the modules that exercise Dask with ``dask``, and every test
    of a ``test_cli*`` module with ``cli``."""
    for item in items:
        if _exercises_dask(item) and item.get_closest_marker("dask") is None:
            item.add_marker(pytest.mark.dask)
        if Path(str(item.path)).stem.startswith("test_cli"):
            item.add_marker(pytest.mark.cli)
