"""Routing of outbox records: topic, key and partition from the contract's placement."""

from __future__ import annotations

import schemas
from schemas import inbox
from schemas.outbox import Destination, OutboxRecord, route
from schemas.placement import shard_for, topic_partition_for, tq_partition_for
from schemas.samples import SAMPLES
from schemas.topics import Topology

TOPOLOGY = Topology("c1", shards=5, task_partitions=7, reply_partitions=2, tq_partitions=3)


def test_a_normal_task_gets_its_task_queue_partition_from_the_cluster_setting() -> None:
    task = {**SAMPLES[schemas.TASK_RECORD], "task_queue_partition": 0}
    routed = route(TOPOLOGY, OutboxRecord(Destination.TASKS, task))  # type: ignore[arg-type]
    tq_partition = tq_partition_for(task["workflow_id"], 3)
    assert routed.topic == "c1.tasks" and routed.key == b"orders"
    assert routed.partition == topic_partition_for("default", "orders", "workflow", tq_partition, 7)
    decoded = schemas.decode(routed.value, schemas.TASK_RECORD)
    assert decoded["task_queue_partition"] == tq_partition
    assert task["task_queue_partition"] == 0, "the writer's record is left as it was"


def test_a_sticky_task_stays_on_partition_zero() -> None:
    task = {
        **SAMPLES[schemas.TASK_RECORD],
        "task_queue_kind": "sticky",
        "task_queue": "s-1",
        "task_queue_partition": 0,
    }
    routed = route(TOPOLOGY, OutboxRecord(Destination.TASKS, task))  # type: ignore[arg-type]
    assert schemas.decode(routed.value, schemas.TASK_RECORD)["task_queue_partition"] == 0
    assert routed.partition == topic_partition_for("default", "s-1", "workflow", 0, 7)


def test_visibility_goes_to_the_runs_shard() -> None:
    vis = SAMPLES[schemas.VISIBILITY_RECORD]
    routed = route(TOPOLOGY, OutboxRecord(Destination.VISIBILITY, vis))  # type: ignore[arg-type]
    assert routed.topic == "c1.visibility"
    assert routed.key == f"default/order-42/{vis['run_id']}".encode()
    assert routed.partition == shard_for("default", "order-42", 5)


def test_a_command_for_another_workflow_goes_to_that_workflows_shard() -> None:
    command = inbox.command_record("c-1", "ns", "other-wf", "StartWorkflowExecution", b"x", 1)
    routed = route(TOPOLOGY, OutboxRecord(Destination.INBOX, command))
    assert routed.topic == "c1.history.inbox"
    assert (routed.key, routed.partition) == inbox.placement("ns", "other-wf", 5)
    assert schemas.decode(routed.value, schemas.INBOX_COMMAND)["workflow_id"] == "other-wf"
