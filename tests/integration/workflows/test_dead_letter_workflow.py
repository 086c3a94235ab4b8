"""Dead letters through the worker service's system workflow (Strom only: Temporal has none).

A record nobody can decode goes to the history inbox; history dead-letters it; the
``temporal-sys-dlq-workflow`` lists it, and replays it onto the inbox, where it is
dead-lettered again (a second letter from the same source, at a new inbox offset).
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from confluent_kafka import Producer
from temporalio.client import WorkflowFailureError

from schemas.placement import shard_for, shard_key
from strom.testing import StromEnvironment
from tests.helpers import eventually_async
from worker_service.deadletters.workflow import (
    WORKFLOW_TYPE,
    DeadLetterRequest,
    DeadLetterResult,
)

pytestmark = [pytest.mark.timeout(240)]
TASK_QUEUE = "temporal-sys-per-ns-tq"


async def _run(env: StromEnvironment, request: DeadLetterRequest) -> DeadLetterResult:
    return await env.client.execute_workflow(
        WORKFLOW_TYPE,
        request,
        id=f"dlq-{uuid.uuid4().hex[:8]}",
        task_queue=TASK_QUEUE,
        result_type=DeadLetterResult,
    )


async def test_dead_letters_listed_and_replayed_by_the_system_workflow(
    strom_env: StromEnvironment, kafka_bootstrap: str
) -> None:
    topology = strom_env.services.topology
    poison = f"\xc3 poison {uuid.uuid4().hex}".encode()
    workflow_id = f"poisoned-{uuid.uuid4().hex[:8]}"
    shard = shard_for("default", workflow_id, topology.shards)
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    producer.produce(topology.inbox, poison, shard_key("default", workflow_id), partition=shard)
    assert producer.flush(30) == 0

    def mine(result: DeadLetterResult) -> list[dict[str, Any]]:
        return [
            letter
            for letter in result.letters
            if letter["source"]["topic"] == topology.inbox
            and letter["source"]["partition"] == shard
            and letter["value_bytes"] == len(poison)
        ]

    async def listed() -> list[dict[str, Any]]:
        return mine(await _run(strom_env, DeadLetterRequest("list")))

    [letter] = await eventually_async(listed, timeout=90, interval=1.0)
    assert letter["service"] == "history"
    assert "undecodable inbox record" in letter["error"]

    replayed = await _run(strom_env, DeadLetterRequest("replay", [letter["offset"]]))
    assert replayed.replayed == [letter["offset"]]

    async def again() -> list[dict[str, Any]]:
        letters = mine(await _run(strom_env, DeadLetterRequest("list")))
        return letters if len(letters) == 2 else []

    first, second = await eventually_async(again, timeout=90, interval=1.0)
    assert first["offset"] == letter["offset"]
    assert second["source"]["offset"] > first["source"]["offset"]

    with pytest.raises(WorkflowFailureError) as failed:
        await _run(strom_env, DeadLetterRequest("replay", [10**12]))
    # The activity's failure is the cause of the workflow's ActivityError.
    assert "no dead letter at offset" in str(failed.value.cause.__cause__)
    with pytest.raises(WorkflowFailureError) as failed:
        await _run(strom_env, DeadLetterRequest("purge"))
    assert "unknown action" in str(failed.value.cause)
