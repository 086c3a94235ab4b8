"""Where an update round trip spends its time: the hops of each update, from Kafka's records.

Run it beside `bench_updates.py` against a Strom. It reads the inbox, tasks, replies and
events topics from their ends for a while, twice (read_uncommitted: when a record was
produced; read_committed: when its transaction committed), and prints for every update:

    update       the frontend produced UpdateWorkflowExecution to the inbox
    task         history produced the speculative task (its transaction then commits)
    task_seen    the task became visible to read_committed readers (matching)
    start        matching produced the (optimistic) RecordWorkflowTaskStarted
    done         the worker's RespondWorkflowTaskCompleted reached the inbox
    batch        history produced the completion's event batch (its commit then begins)
    reply        history produced the reply to the update's caller

and the median of each hop. Times are the records' create timestamps (ms) except task_seen,
which is when this script's own read_committed consumer got the record (it adds its own lag).

Usage: python bench/trace_update_hops.py --bootstrap 127.0.0.1:19092 [--seconds 30]
           [--prefix strom]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO)]

from confluent_kafka import Consumer, TopicPartition  # noqa: E402

import schemas  # noqa: E402
from schemas.topics import Topology  # noqa: E402

HOPS = [
    ("update", "task"),
    ("task", "task_seen"),
    ("task_seen", "start"),
    ("start", "done"),
    ("done", "reply"),
    ("done", "batch"),
    ("batch", "reply"),
    ("update", "reply"),
]

Seen = dict[tuple[str, int, int], dict[str, Any]]


def read(bootstrap: str, topics: list[str], isolation: str, seconds: float, seen: Seen) -> None:
    """Records every record of `topics` that arrives within `seconds` into `seen`."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"trace-update-hops-{isolation}",
            "isolation.level": isolation,
            "enable.auto.commit": False,
        }
    )
    try:
        metadata = consumer.list_topics(timeout=10)
        assigned = []
        for topic in topics:
            for partition in metadata.topics[topic].partitions:
                tp = TopicPartition(topic, partition)
                assigned.append(
                    TopicPartition(topic, partition, consumer.get_watermark_offsets(tp)[1])
                )
        consumer.assign(assigned)
        end = time.time() + seconds
        while time.time() < end:
            msg = consumer.poll(0.05)
            if msg is None or msg.error():
                continue
            arrived = time.time()
            name, partition, offset = msg.topic(), msg.partition(), msg.offset()
            assert name is not None and partition is not None and offset is not None
            entry = seen.setdefault((name, partition, offset), {})
            entry[isolation] = arrived
            entry["created"] = msg.timestamp()[1] / 1000
            entry["value"] = msg.value()
    finally:
        consumer.close()


def label(topology: Topology, topic: str, value: bytes) -> str:
    """What a record is, for the hop table."""
    if topic == topology.inbox:
        return str(schemas.decode(value, schemas.INBOX_COMMAND)["kind"])
    if topic == topology.replies:
        return "reply"
    if topic == topology.tasks:
        return "task"
    return "events"


def updates(topology: Topology, seen: Seen) -> list[dict[str, float]]:
    """The hop times of each update, in the order they were made."""
    rows = sorted(
        [
            (entry["created"], label(topology, key[0], entry["value"]), entry)
            for key, entry in seen.items()
            if entry.get("value") is not None
        ],
        key=lambda row: row[0],
    )
    found: list[dict[str, float]] = []
    current: dict[str, float] | None = None
    for created, kind, entry in rows:
        if kind == "UpdateWorkflowExecution":
            current = {"update": created}
            found.append(current)
        elif current is None:
            continue
        elif kind == "task" and "task" not in current:
            current["task"] = created
            if "read_committed" in entry:
                current["task_seen"] = entry["read_committed"]
        elif kind == "RecordWorkflowTaskStarted" and "start" not in current:
            current["start"] = created
        elif kind == "RespondWorkflowTaskCompleted" and "done" not in current:
            current["done"] = created
        elif kind == "events" and "done" in current and "batch" not in current:
            current["batch"] = created
        elif kind == "reply" and "done" in current and "reply" not in current:
            current["reply"] = created
    return found


def main() -> None:
    """Traces for --seconds, then prints the median of every hop."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--prefix", default="strom")
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    topology = Topology(args.prefix)
    topics = [topology.inbox, topology.tasks, topology.replies, topology.events]
    seen: Seen = {}
    readers = [
        threading.Thread(target=read, args=(args.bootstrap, topics, iso, args.seconds, seen))
        for iso in ("read_uncommitted", "read_committed")
    ]
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join()
    traced = updates(topology, seen)
    for start, end in HOPS:
        hops = [(u[end] - u[start]) * 1000 for u in traced if start in u and end in u]
        if hops:
            print(f"{start:>10} -> {end:<10} n={len(hops):4} p50={statistics.median(hops):6.1f} ms")


if __name__ == "__main__":
    main()
