"""Fixtures shared by the wiring tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

# reused fixtures: the real Kubernetes control plane of tests/e2e/k8s (the `e2e` test only)
# and the tunnel's in-process mTLS server with registration (tests/integration/tunnel)
from tests.e2e.k8s.conftest import admin, control_plane  # noqa: F401
from tests.integration.tunnel.conftest import control_plane as tunnel_plane  # noqa: F401
from tests.integration.wiring.stack import Served, camelops_serve


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """`camelops serve` as a subprocess, one per test module (each registers its own project)."""
    data_dir = tmp_path_factory.mktemp("wiring") / "data"
    # the tests' repositories live in their own tmp_path, under the same base
    with camelops_serve(data_dir, local_roots=tmp_path_factory.getbasetemp()) as running:
        yield running
