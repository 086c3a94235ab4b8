"""Fixtures of the Web UI tests: the servers of the workflow tests, one per test module.

Like the workflow tests, every UI test runs on Strom and on the real Temporal dev server: the
dev server proves the test reads the UI right, Strom is what it checks.
"""

from __future__ import annotations

import pytest

from tests.integration.workflows.conftest import Server, strom_env, temporal_server

__all__ = ["strom_env", "temporal_server", "ui_server"]


@pytest.fixture(scope="module", params=["strom", "temporal"])
def ui_server(request: pytest.FixtureRequest) -> Server:
    """The server under test, module-scoped so that one UI and one worker serve all its tests."""
    if request.param == "strom":
        env = request.getfixturevalue("strom_env")
        return Server("strom", env.client, env.target, env)
    reference: Server = request.getfixturevalue("temporal_server")
    return reference
