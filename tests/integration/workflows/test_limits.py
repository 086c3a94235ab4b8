"""Payloads near Temporal's limits, on Strom and on the dev server.

Temporal allows payloads up to 2 MiB (limit.blobSize.error) and refuses larger ones with
INVALID_ARGUMENT; Kafka's 1 MB default record size must not make Strom refuse or wedge on
anything Temporal accepts.
"""

from __future__ import annotations

import uuid

import pytest
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from tests.integration.workflows.conftest import Server
from tests.workflows.activities import big_result
from tests.workflows.big_results import TwoBigResultsWorkflow
from tests.workflows.one_activity import OneActivityWorkflow

pytestmark = [pytest.mark.timeout(240)]
MiB = 1024 * 1024


async def test_two_results_of_1_5_mib_reach_the_workflow_in_one_decision(server: Server) -> None:
    tq = server.task_queue()
    async with Worker(
        server.client, task_queue=tq, workflows=[TwoBigResultsWorkflow], activities=[big_result]
    ):
        total = await server.client.execute_workflow(
            TwoBigResultsWorkflow.run,
            int(1.5 * MiB),
            id=f"big-{uuid.uuid4().hex[:8]}",
            task_queue=tq,
        )
    assert total == 3 * MiB


async def test_a_3_mib_start_input_is_invalid_argument(server: Server) -> None:
    with pytest.raises(RPCError) as refused:
        await server.client.start_workflow(
            OneActivityWorkflow.run,
            "x" * (3 * MiB),
            id=f"too-big-{uuid.uuid4().hex[:8]}",
            task_queue=server.task_queue(),
        )
    assert refused.value.status == RPCStatusCode.INVALID_ARGUMENT
    assert "Blob data size exceeds limit" in refused.value.message
