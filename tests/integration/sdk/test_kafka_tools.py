"""`strom topics`, `strom history`, `strom replay` and `strom.replay` on a real Strom and Kafka.

The CLI runs as a subprocess, as an operator runs it; what it prints is checked against what
the frontend serves (GetWorkflowExecutionHistory) and against offsets set up by hand.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
from confluent_kafka import Consumer, Producer, TopicPartition
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory
from temporalio.worker import Worker

from helpers import eventually, unique_name
from schemas.topics import Topology
from strom._formatting import event_type_name
from strom.replay import (
    ClusterNotFoundError,
    HistoryNotFoundError,
    ReplayStatus,
    closed_histories_from_kafka,
    history_from_kafka,
    replay_from_kafka,
)
from strom.testing import StromEnvironment
from tests.integration.sdk import kafka_tools_workflows, kafka_tools_workflows_changed
from tests.workflows.activities import greet

ROOT = Path(__file__).resolve().parents[3]
GREETING = "tests.integration.sdk.kafka_tools_workflows:Greeting"
CHANGED = "tests.integration.sdk.kafka_tools_workflows_changed:Greeting"

pytestmark = [pytest.mark.timeout(300)]


def strom_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """Runs `strom ARGS` from the repository root, as an operator would."""
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'sdk'}{os.pathsep}{ROOT}"}
    env.pop("STROM_KAFKA_BOOTSTRAP", None)  # every call names its broker
    return subprocess.run(
        [sys.executable, "-m", "strom.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_one_line_error(proc: subprocess.CompletedProcess[str], code: int, words: str) -> None:
    assert proc.returncode == code, (proc.stdout, proc.stderr)
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert words in proc.stderr


@dataclass
class Ran:
    """What the module's workflows left in Kafka."""

    env: StromEnvironment
    bootstrap: str
    workflow_id: str  # two runs, both completed
    run_ids: list[str]  # oldest first
    histories: list[list[HistoryEvent]]  # of the runs, as the frontend serves them
    other_id: str  # one completed run

    def kafka(self) -> list[str]:
        return ["--bootstrap", self.bootstrap, "--prefix", self.env.services.topology.prefix]


@pytest_asyncio.fixture(scope="module")
async def ran(
    kafka_bootstrap: str, es_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Ran]:
    env = await StromEnvironment.start(
        kafka_bootstrap=kafka_bootstrap,
        es_url=es_url,
        data_dir=tmp_path_factory.mktemp("kafka-tools"),
    )
    try:
        client, tq = env.client, f"tq-{uuid.uuid4().hex[:8]}"
        wid, other = f"greet-{uuid.uuid4().hex[:8]}", f"other-{uuid.uuid4().hex[:8]}"
        run_ids, histories = [], []
        async with Worker(
            client, task_queue=tq, workflows=[kafka_tools_workflows.Greeting], activities=[greet]
        ):
            for name in ("Kafka", "again"):  # the same id twice: two runs
                handle = await client.start_workflow(
                    kafka_tools_workflows.Greeting.run, name, id=wid, task_queue=tq
                )
                assert await handle.result() == f"Hello, {name}!"
                run_ids.append(handle.result_run_id or "")
                histories.append(list((await handle.fetch_history()).events))
            await client.execute_workflow(
                kafka_tools_workflows.Greeting.run, "other", id=other, task_queue=tq
            )
        yield Ran(env, kafka_bootstrap, wid, run_ids, histories, other)
    finally:
        await env.shutdown()


# -- strom topics ------------------------------------------------------------------------------


def test_topics_json_shows_every_topic_and_a_lag_row_per_group(ran: Ran) -> None:
    topology = ran.env.services.topology
    proc = strom_cli("topics", *ran.kafka(), "--json")
    assert proc.returncode == 0, proc.stderr
    layout = json.loads(proc.stdout)

    assert layout["prefix"] == topology.prefix
    assert layout["settings"] == {
        "shards": topology.shards,
        "task_partitions": topology.task_partitions,
        "reply_partitions": topology.reply_partitions,
        "tq_partitions": topology.tq_partitions,
    }
    topics = {t["name"]: t for t in layout["topics"]}
    assert list(topics) == [spec.name for spec in topology.specs()]
    for spec in topology.specs():
        assert topics[spec.name]["partitions"] == spec.partitions
        assert topics[spec.name]["cleanup_policy"] == spec.cleanup_policy
    assert topics[topology.replies]["retention_ms"] == 3_600_000
    assert topics[topology.events]["end_offsets"] > 0  # the workflows' transitions

    groups = {g["role"]: g for g in layout["groups"]}
    assert {role: g["group"] for role, g in groups.items()} == {
        "history": topology.history_group,
        "matching": topology.matching_group,
        "visibility indexer": topology.indexer_group,
    }
    for group in groups.values():
        assert group["topic"] in topics
        partitions = group["partitions"]
        assert [p["partition"] for p in partitions] == list(range(len(partitions)))
        assert len(partitions) == topics[group["topic"]]["partitions"]
        for p in partitions:
            if p["committed"] is not None:
                assert 0 <= p["committed"] <= p["end"]
                assert p["lag"] == p["end"] - p["committed"]
        assert group["lag"] == sum(p["lag"] for p in partitions)
        assert group["end"] == sum(p["end"] for p in partitions)
    history = groups["history"]
    assert history["state"] == "STABLE" and history["members"] >= 1

    # Commands reach history directly when they can, so its inbox may hold few or none; what
    # it holds is consumed (a position may wait offsets_commit_interval_ms for its commit).
    def history_caught_up() -> bool:
        again = json.loads(strom_cli("topics", *ran.kafka(), "--json").stdout)
        return next(g for g in again["groups"] if g["role"] == "history")["lag"] == 0

    eventually(history_caught_up, timeout=15, interval=0.5)


def test_topics_text_lists_topics_and_groups(ran: Ran) -> None:
    topology = ran.env.services.topology
    proc = strom_cli("topics", *ran.kafka())
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    assert f"Cluster {topology.prefix!r}" in text
    assert re.search(rf"task-queue partitions +{topology.tq_partitions}\n", text)
    topic_lines = text.split("Topics:\n")[1].split("Consumer groups:\n")[0].splitlines()
    names = [line.split()[0] for line in topic_lines[1:]]
    assert names == [spec.name for spec in topology.specs()]
    group_lines = text.split("Consumer groups:\n")[1].splitlines()
    assert [line.split()[0] for line in group_lines[1:]] == [
        topology.history_group,
        topology.matching_group,
        topology.indexer_group,
    ]


def test_topics_lag_is_end_minus_committed(kafka_bootstrap: str) -> None:
    topology = Topology(unique_name("lag"))
    topology.ensure(kafka_bootstrap)
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    for partition, count in ((0, 5), (1, 3)):
        for i in range(count):
            producer.produce(topology.inbox, f"c{i}".encode(), b"k", partition=partition)
    assert producer.flush(30) == 0
    consumer = Consumer({"bootstrap.servers": kafka_bootstrap, "group.id": topology.history_group})
    try:
        consumer.commit(offsets=[TopicPartition(topology.inbox, 0, 2)], asynchronous=False)
    finally:
        consumer.close()

    proc = strom_cli(
        "topics", "--bootstrap", kafka_bootstrap, "--prefix", topology.prefix, "--json"
    )
    assert proc.returncode == 0, proc.stderr
    groups = {g["role"]: g for g in json.loads(proc.stdout)["groups"]}
    history = groups["history"]
    assert history["partitions"][0] == {"partition": 0, "committed": 2, "end": 5, "lag": 3}
    # Never committed: the group would start at the earliest offset.
    assert history["partitions"][1] == {"partition": 1, "committed": None, "end": 3, "lag": 3}
    assert (history["committed"], history["end"], history["lag"]) == (2, 8, 6)
    assert history["members"] == 0
    assert groups["matching"]["lag"] == 0 and groups["matching"]["end"] == 0


def test_an_unknown_cluster_is_one_line_and_exit_1(kafka_bootstrap: str) -> None:
    prefix = unique_name("missing")
    for command in (["topics"], ["history", "wf"]):
        proc = strom_cli(*command, "--bootstrap", kafka_bootstrap, "--prefix", prefix)
        assert_one_line_error(proc, 1, f"no Strom cluster {prefix!r}")


# -- strom history -----------------------------------------------------------------------------


def test_history_text_shows_the_latest_run_event_by_event(ran: Ran) -> None:
    proc = strom_cli("history", ran.workflow_id, *ran.kafka())
    assert proc.returncode == 0, proc.stderr
    head, progress = proc.stdout.split("Progress:\n")
    assert f"WorkflowId  {ran.workflow_id}" in head
    assert f"RunId       {ran.run_ids[-1]}" in head
    assert "Type        KafkaToolsGreeting" in head
    assert "Status      COMPLETED" in head
    rows = [line.split() for line in progress.splitlines()[1:]]
    expected = ran.histories[-1]
    assert [(int(r[0]), r[2]) for r in rows] == [
        (e.event_id, event_type_name(e.event_type)) for e in expected
    ]
    by_type = {r[2]: " ".join(r[3:]) for r in rows}
    assert 'input=["again"]' in by_type["WorkflowExecutionStarted"]
    assert "activity=greet" in by_type["ActivityTaskScheduled"]
    assert 'result=["Hello, again!"]' in by_type["WorkflowExecutionCompleted"]


@pytest.mark.parametrize("run", [0, 1])
def test_history_json_is_the_history_the_frontend_serves(ran: Ran, run: int) -> None:
    args = ["--run-id", ran.run_ids[run]] if run == 0 else []
    proc = strom_cli("history", ran.workflow_id, *args, *ran.kafka(), "--json")
    assert proc.returncode == 0, proc.stderr
    history = WorkflowHistory.from_json(ran.workflow_id, proc.stdout)
    assert list(history.events) == ran.histories[run]
    assert history.run_id == ran.run_ids[run]


def test_history_of_an_unknown_workflow_or_run_exits_1(ran: Ran) -> None:
    proc = strom_cli("history", "no-such-workflow", *ran.kafka())
    assert_one_line_error(proc, 1, "no history of workflow 'no-such-workflow'")
    proc = strom_cli("history", ran.workflow_id, "--run-id", "nope", *ran.kafka())
    assert_one_line_error(proc, 1, "run nope")
    proc = strom_cli("history", ran.workflow_id, "--namespace", "elsewhere", *ran.kafka())
    assert_one_line_error(proc, 1, "in namespace 'elsewhere'")


# -- strom replay ------------------------------------------------------------------------------


def test_replay_passes_with_the_deployed_class(ran: Ran) -> None:
    proc = strom_cli("replay", "--workflows", GREETING, ran.workflow_id, ran.other_id, *ran.kafka())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["OK", ran.workflow_id, "run", ran.run_ids[-1]]
    assert lines[1].split()[:2] == ["OK", ran.other_id]
    assert lines[2] == "2 replayed, 0 failed"


def test_replay_of_a_changed_class_reports_nondeterminism(ran: Ran) -> None:
    proc = strom_cli("replay", "--workflows", CHANGED, ran.workflow_id, *ran.kafka(), "--json")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    [result] = json.loads(proc.stdout)
    assert (result["workflow_id"], result["run_id"]) == (ran.workflow_id, ran.run_ids[-1])
    assert result["status"] == "NONDETERMINISM"
    assert "Nondeterminism" in result["error"] or "nondeterminism" in result["error"]
    assert "Traceback" not in proc.stderr


def test_replay_all_closed_runs(ran: Ran) -> None:
    proc = strom_cli("replay", "--workflows", GREETING, "--all-closed", *ran.kafka(), "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = json.loads(proc.stdout)
    runs = sorted(
        (r["workflow_id"], r["run_id"]) for r in results if r["workflow_id"] != ran.other_id
    )
    assert runs == sorted((ran.workflow_id, run_id) for run_id in ran.run_ids)
    assert sum(r["workflow_id"] == ran.other_id for r in results) == 1
    assert {r["status"] for r in results} == {"OK"}

    proc = strom_cli("replay", "--workflows", CHANGED, "--all-closed", *ran.kafka())
    assert proc.returncode == 1
    assert proc.stdout.splitlines()[-1] == "3 replayed, 3 failed"


def test_replay_of_an_unknown_workflow_exits_1(ran: Ran) -> None:
    proc = strom_cli("replay", "--workflows", GREETING, "no-such-workflow", *ran.kafka())
    assert_one_line_error(proc, 1, "no history of workflow 'no-such-workflow'")


# -- strom.replay in Python --------------------------------------------------------------------


async def test_python_api_reads_and_replays(ran: Ran) -> None:
    prefix = ran.env.services.topology.prefix
    latest = await history_from_kafka(ran.bootstrap, ran.workflow_id, prefix=prefix)
    assert list(latest.events) == ran.histories[-1]
    first = await history_from_kafka(
        ran.bootstrap, ran.workflow_id, run_id=ran.run_ids[0], prefix=prefix
    )
    assert list(first.events) == ran.histories[0]

    ids = [ran.workflow_id, ran.other_id]
    good = await replay_from_kafka(
        ran.bootstrap, [kafka_tools_workflows.Greeting], ids, prefix=prefix
    )
    assert [(r.workflow_id, r.status, r.error) for r in good] == [
        (wid, ReplayStatus.OK, None) for wid in ids
    ]
    bad = await replay_from_kafka(
        ran.bootstrap, [kafka_tools_workflows_changed.Greeting], ids, prefix=prefix
    )
    assert [(r.workflow_id, r.status) for r in bad] == [
        (wid, ReplayStatus.NONDETERMINISM) for wid in ids
    ]
    assert not any(r.ok for r in bad)

    closed = await closed_histories_from_kafka(
        ran.bootstrap, prefix=prefix, workflow_types=["KafkaToolsGreeting"]
    )
    assert sorted((h.workflow_id, h.run_id) for h in closed if h.workflow_id != ran.other_id) == [
        (ran.workflow_id, run_id) for run_id in sorted(ran.run_ids)
    ]
    by_run = {h.run_id: list(h.events) for h in closed}
    assert [by_run[run_id] for run_id in ran.run_ids] == ran.histories
    assert await closed_histories_from_kafka(ran.bootstrap, prefix=prefix, namespace="x") == []

    with pytest.raises(HistoryNotFoundError):
        await history_from_kafka(ran.bootstrap, "no-such-workflow", prefix=prefix)
    with pytest.raises(ClusterNotFoundError):
        await history_from_kafka(ran.bootstrap, ran.workflow_id, prefix=unique_name("none"))


async def test_history_of_a_running_workflow(ran: Ran) -> None:
    # Started on a queue no worker polls, the history stops at the first workflow task. (A
    # type of its own, so that the replays of closed KafkaToolsGreeting runs never see it.)
    handle = await ran.env.client.start_workflow(
        "NeverDeployed", "late", id=unique_name("running"), task_queue="idle"
    )
    proc = await asyncio.to_thread(strom_cli, "history", handle.id, *ran.kafka())
    assert proc.returncode == 0, proc.stderr
    assert "Status      RUNNING" in proc.stdout
    assert proc.stdout.splitlines()[-1].split()[2] == "WorkflowTaskScheduled"
    await handle.terminate("done")
