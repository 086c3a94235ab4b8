"""Restore time of one history shard holding many events (issue 12: a shard of 1M events).

Builds the event batches of a workflow with activities through the real decider (the unit-test
harness `Glue`: start, workflow tasks, activities scheduled, started and completed, close),
then writes copies of them under distinct workflow and run ids to one partition of an events
topic, as history's changelog holds them. It then restores that partition into an empty
RocksDB store with the same code a history process runs on assignment (`Restorer` folding
each record with `HistoryProcessor.apply`) and prints records/s, events/s, the time to the
first usable state, the store's size on disk and the process's peak memory.

Each copy gets its own workflow and run id in the start event and the state updates, so the
restore builds one mutable state per workflow, as a real shard's changelog would make it.

Usage: python bench/bench_restore.py [--events 1000000] [--activities 20]
Uses STROM_KAFKA_BOOTSTRAP when set, else starts a dev broker in a temporary folder.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path

from confluent_kafka import Producer
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.workflowservice.v1 import PollWorkflowTaskQueueResponse

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from _broker import broker  # noqa: E402

from history_processor.changelog import event_batch  # noqa: E402
from history_processor.fold import apply_batch  # noqa: E402
from history_processor.processor import HistoryProcessor  # noqa: E402
from schemas.topics import Topology  # noqa: E402
from streams import RocksDBStore, TopicSpec, ensure_topics  # noqa: E402
from streams.state.recovery import Restorer  # noqa: E402
from tests.unit.history.harness import (  # noqa: E402
    NAMESPACE,
    Glue,
    complete_workflow,
    first_task,
    ok_payload,
    schedule_activity,
)

TEMPLATE_RUN = "run-0001"  # the harness's first run id


def template(activities: int) -> list[tuple[list, list]]:
    """The (events, updates) batches of one workflow running `activities` activities in turn."""
    glue = Glue()
    poll = first_task(glue)
    for number in range(activities):
        glue.complete_workflow_task(poll, schedule_activity(f"a{number}"))
        scheduled = glue.state.next_event_id - 1 if glue.state else 0
        glue.start_activity(scheduled)
        glue.complete_activity(scheduled)
        poll = ok_payload(glue.poll_workflow_task(f"poll-{number}"), PollWorkflowTaskQueueResponse)
    glue.complete_workflow_task(poll, complete_workflow())
    assert glue.state is not None and glue.state.run_id == TEMPLATE_RUN
    return glue.batches


def renamed(
    batches: list[tuple[list, list]], workflow_id: str, run_id: str
) -> list[tuple[list, list]]:
    """The template's batches for another workflow: its ids in the start event and updates."""
    out = []
    for events, updates in batches:
        if events and events[0].event_id == 1:
            first = HistoryEvent()
            first.CopyFrom(events[0])
            attrs = first.workflow_execution_started_event_attributes
            attrs.workflow_id = workflow_id
            attrs.original_execution_run_id = run_id
            attrs.first_execution_run_id = run_id
            events = [first, *events[1:]]
        updates = [
            (kind, payload.replace(TEMPLATE_RUN.encode(), run_id.encode()))
            for kind, payload in updates
        ]
        out.append((events, updates))
    return out


def produce(bootstrap: str, topic: str, batches: list[tuple[list, list]], workflows: int) -> int:
    """Writes `workflows` copies of the batches to partition 0; returns the record count."""
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "linger.ms": 50,
            "batch.size": 1_000_000,
            "compression.type": "lz4",
            "message.max.bytes": 64 * 1024 * 1024,
        }
    )
    records = 0
    for number in range(workflows):
        workflow_id, run_id = f"wf-{number}", f"run-{number}"
        run = None
        for step, (events, updates) in enumerate(renamed(batches, workflow_id, run_id)):
            run = apply_batch(run, events, updates)
            assert run is not None
            key, value = event_batch(
                NAMESPACE, workflow_id, f"c{number}-{step}", run, events, updates
            )
            while True:
                try:
                    producer.produce(topic, value, key=key, partition=0)
                    break
                except BufferError:
                    producer.poll(0.1)
            records += 1
        producer.poll(0)
    producer.flush(300)
    return records


def measure(bootstrap: str, events_wanted: int, activities: int) -> None:
    batches = template(activities)
    per_workflow = sum(len(events) for events, _ in batches)
    workflows = max(1, events_wanted // per_workflow)
    prefix = f"bench-restore-{uuid.uuid4().hex[:6]}"
    topology = Topology(prefix)
    ensure_topics(bootstrap, [TopicSpec(topology.events, 1, "compact")])
    print(
        f"template: {per_workflow} events in {len(batches)} batches per workflow "
        f"({activities} activities); {workflows:,} workflows -> {workflows * per_workflow:,} events"
    )
    began = time.monotonic()
    records = produce(bootstrap, topology.events, batches, workflows)
    print(f"produced {records:,} records in {time.monotonic() - began:.1f} s")

    processor = HistoryProcessor(topology, lambda name: f"{name}-id")
    settings = {
        "bootstrap.servers": bootstrap,
        "group.id": f"{prefix}-restore",
        "enable.auto.commit": False,
        "isolation.level": "read_committed",
        "enable.partition.eof": True,
        "fetch.max.bytes": 64 * 1024 * 1024,
        "max.partition.fetch.bytes": 64 * 1024 * 1024,
    }
    with tempfile.TemporaryDirectory() as state_dir:
        rocks = RocksDBStore(Path(state_dir))
        store = rocks.open_partition(0)
        restorer = Restorer(settings, topology.events)
        try:
            result = restorer.restore(
                store, lambda txn, msg: processor.apply(txn, msg.key(), msg.value()), 3600
            )
        finally:
            restorer.close()
            store.close()
        size = sum(f.stat().st_size for f in Path(state_dir).rglob("*") if f.is_file())
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    events = result.records / len(batches) * per_workflow
    print(
        f"restored {result.records:,} records ({events:,.0f} events, {workflows:,} workflows) "
        f"in {result.seconds:.1f} s: {result.records / result.seconds:,.0f} records/s, "
        f"{events / result.seconds:,.0f} events/s"
    )
    print(f"store on disk {size / 1e6:,.0f} MB; peak RSS of this process {peak_mb:,.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1_000_000, help="events to restore")
    parser.add_argument(
        "--activities", type=int, default=20, help="activities per workflow (sets its length)"
    )
    args = parser.parse_args()
    with broker() as bootstrap:
        measure(bootstrap, args.events, args.activities)


if __name__ == "__main__":
    main()
