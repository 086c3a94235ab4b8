"""Poison inputs on real processes: dead-lettered, listed and replayed with `strom dlq`.

A record nobody can decode is written to the history inbox beside a live workflow's shard;
the shard keeps working, the record shows up in `strom dlq list`, and `strom dlq replay`
puts it back on the inbox, where it is dead-lettered again.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from confluent_kafka import Producer
from temporalio.worker import Worker

from helpers import eventually
from schemas.placement import shard_for, shard_key
from strom.testing import StromEnvironment
from tests.integration.sdk import kafka_tools_workflows
from tests.integration.sdk.test_kafka_tools import assert_one_line_error, strom_cli
from tests.workflows.activities import greet

pytestmark = [pytest.mark.timeout(300)]
POISON = b"\xc3\x01 written by a Strom from the future"


@pytest_asyncio.fixture(scope="module")
async def env(
    kafka_bootstrap: str, es_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[StromEnvironment]:
    strom = await StromEnvironment.start(
        kafka_bootstrap=kafka_bootstrap, es_url=es_url, data_dir=tmp_path_factory.mktemp("dlq")
    )
    try:
        yield strom
    finally:
        await strom.shutdown()


def _kafka(env: StromEnvironment, bootstrap: str) -> list[str]:
    return ["--bootstrap", bootstrap, "--prefix", env.services.topology.prefix]


def _letters(env: StromEnvironment, bootstrap: str) -> list[dict]:
    proc = strom_cli("dlq", "list", *_kafka(env, bootstrap), "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


async def test_poison_is_dead_lettered_the_shard_goes_on_and_replay_puts_it_back(
    env: StromEnvironment, kafka_bootstrap: str
) -> None:
    topology = env.services.topology
    workflow_id = f"greet-{uuid.uuid4().hex[:8]}"
    shard = shard_for("default", workflow_id, topology.shards)
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    producer.produce(topology.inbox, POISON, shard_key("default", workflow_id), partition=shard)
    assert producer.flush(30) == 0

    # The same shard serves a workflow from start to end after the poison.
    tq = f"tq-{uuid.uuid4().hex[:8]}"
    async with Worker(
        env.client, task_queue=tq, workflows=[kafka_tools_workflows.Greeting], activities=[greet]
    ):
        result = await env.client.execute_workflow(
            kafka_tools_workflows.Greeting.run, "poison", id=workflow_id, task_queue=tq
        )
    assert result == "Hello, poison!"

    (letter,) = eventually(lambda: _letters(env, kafka_bootstrap), timeout=60)
    assert letter["service"] == "history"
    assert letter["source"]["topic"] == topology.inbox
    assert letter["source"]["partition"] == shard
    assert letter["value_bytes"] == len(POISON)
    assert "undecodable inbox record" in letter["error"]
    kafka = _kafka(env, kafka_bootstrap)
    text = strom_cli("dlq", "list", *kafka)
    assert f"@{letter['offset']}" in text.stdout and "undecodable" in text.stdout

    replayed = strom_cli(
        "dlq", "replay", "--offset", str(letter["offset"]), *_kafka(env, kafka_bootstrap)
    )
    assert replayed.returncode == 0, replayed.stderr
    assert replayed.stdout.strip() == "replayed 1 dead letter"
    # Still undecodable, so it comes back: the same bytes from a later inbox offset.
    again = eventually(
        lambda: len(_letters(env, kafka_bootstrap)) == 2 and _letters(env, kafka_bootstrap), 60
    )
    assert again[1]["source"]["offset"] > letter["source"]["offset"]
    assert again[1]["value_bytes"] == len(POISON)

    unknown = strom_cli("dlq", "replay", "--offset", "999999", *kafka)
    assert_one_line_error(unknown, 2, "no dead letter at offset 999999")
