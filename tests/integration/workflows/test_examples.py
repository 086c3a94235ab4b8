"""The README's example (the seed's chapter-3 workflow) runs on Strom as on the dev server."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import pytest
from temporalio.worker import Worker

from tests.integration.workflows.conftest import Server

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "examples" / "chapter03"))

from service_workflow import ServiceArchitectureWorkflow


@pytest.mark.timeout(60)
async def test_chapter_three_example(server: Server) -> None:
    tq = server.task_queue()
    async with Worker(server.client, task_queue=tq, workflows=[ServiceArchitectureWorkflow]):
        result = await server.client.execute_workflow(
            ServiceArchitectureWorkflow.run, id=f"architecture-demo-{uuid.uuid4()}", task_queue=tq
        )
    assert result == {"message": "Architecture demonstration complete", "steps_completed": 3}
