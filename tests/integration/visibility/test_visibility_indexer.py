"""The indexer end to end: Kafka visibility topic -> Elasticsearch, on real brokers and nodes."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from elasticsearch import Elasticsearch

import schemas
from helpers import eventually, unique_name
from schemas.visibility.exceptions import VisibilityUnavailableError
from schemas.visibility.search import VisibilityReader
from schemas.visibility.template import index_name, template_name
from strom._devserver import free_port
from tests.unit.visibility_indexer.test_documents import record
from visibility_indexer.indexer import IndexerConfig, VisibilityIndexer

pytestmark = [pytest.mark.kafka, pytest.mark.es, pytest.mark.timeout(180)]

PARTITIONS = 3
RETRY = (AssertionError, VisibilityUnavailableError)
"""What a read may raise while the indexer is still creating the index."""


@pytest.fixture(scope="module")
def es(es_url: str) -> Iterator[Elasticsearch]:
    client = Elasticsearch(es_url, request_timeout=30)
    yield client
    client.close()


@pytest.fixture
def prefix(es: Elasticsearch) -> Iterator[str]:
    name = unique_name("visk")
    yield name
    es.indices.delete(index=index_name(name), ignore_unavailable=True)
    if es.indices.exists_index_template(name=template_name(name)):
        es.indices.delete_index_template(name=template_name(name))


def create_topic(bootstrap: str, topic: str) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(topic, PARTITIONS, 1)], operation_timeout=30)
    futures[topic].result(timeout=60)


def encode(**changes: Any) -> bytes:
    return schemas.encode(schemas.VISIBILITY_RECORD, record(**changes))


def produce(bootstrap: str, topic: str, items: list[tuple[str, bytes | None]]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True})
    for key, value in items:
        producer.produce(topic, key=key.encode(), value=value)
    assert producer.flush(30) == 0


def committed(bootstrap: str, group: str, topic: str) -> dict[int, int]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        parts = consumer.committed([TopicPartition(topic, p) for p in range(PARTITIONS)], 30)
    finally:
        consumer.close()
    return {tp.partition: tp.offset for tp in parts}


def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": unique_name("probe")})
    try:
        return {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=30)[1]
            for p in range(PARTITIONS)
        }
    finally:
        consumer.close()


def all_committed(bootstrap: str, group: str, topic: str) -> bool:
    """Whether the group's offsets are at the end of every partition (markers included)."""
    ends = end_offsets(bootstrap, topic)
    done = committed(bootstrap, group, topic)
    assert {p: o for p, o in done.items() if ends[p] > 0} == {
        p: o for p, o in ends.items() if o > 0
    }
    return True


def running(indexer: VisibilityIndexer) -> threading.Thread:
    thread = threading.Thread(target=indexer.run, name="indexer", daemon=True)
    thread.start()
    return thread


def batches(indexer: VisibilityIndexer) -> None:
    while not indexer.stopping:
        indexer.run_once()


def stop(indexer: VisibilityIndexer, thread: threading.Thread) -> None:
    indexer.stop()
    thread.join(30)
    assert not thread.is_alive()
    indexer.close()


def states(reader: VisibilityReader) -> dict[str, tuple[int, int]]:
    """Run id -> (status, history length) of the indexed runs of namespace default."""
    response = reader.list("default", "")
    return {e.execution.run_id: (int(e.status), e.history_length) for e in response.executions}


def dead_letters(bootstrap: str, topic: str) -> list[dict[str, Any]]:
    """Every DeadLetter record on `topic` (its one partition), oldest first."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": unique_name("dlq-reader"),
            "enable.partition.eof": True,
        }
    )
    consumer.assign([TopicPartition(topic, 0, 0)])
    found = []
    try:
        while True:
            msg = consumer.poll(10)
            if msg is None or msg.error() is not None:
                return found
            found.append(schemas.decode(msg.value(), schemas.DEAD_LETTER))
    finally:
        consumer.close()


def test_indexes_newest_state_skips_aborted_and_bad_records_and_commits(
    kafka_bootstrap: str, es: Elasticsearch, prefix: str
) -> None:
    topic = unique_name("vis-topic")
    create_topic(kafka_bootstrap, topic)
    key = "default/wf-1/run-a"
    produce(
        kafka_bootstrap,
        topic,
        [
            (key, encode(run_id="run-a", version=1)),
            (key, encode(run_id="run-a", version=3, status="Completed", close_time_ms=2 * 10**12)),
            (key, encode(run_id="run-a", version=2, history_length=7)),  # stale: arrives late
            ("default/wf-1/run-b", encode(run_id="run-b", version=1, history_length=4)),
            ("default/wf-1/run-c", encode(run_id="run-c", version=1)),
            ("default/wf-1/run-c", encode(run_id="run-c", version=2, deleted=True)),
            ("default/wf-1/bad", b"not avro"),
            ("default/wf-1/gone", None),  # a tombstone
        ],
    )
    # An aborted transaction before a committed one on the same partition: read_committed
    # must skip the first and index the second.
    txn = Producer({"bootstrap.servers": kafka_bootstrap, "transactional.id": unique_name("tx")})
    txn.init_transactions(30)
    txn.begin_transaction()
    txn.produce(topic, key=b"x", value=encode(run_id="run-aborted", version=1), partition=0)
    txn.abort_transaction(30)
    txn.begin_transaction()
    txn.produce(topic, key=b"x", value=encode(run_id="run-committed", version=1), partition=0)
    txn.commit_transaction(30)

    config = IndexerConfig(bootstrap=kafka_bootstrap, prefix=prefix, topic=topic, batch_size=3)
    create_topic(kafka_bootstrap, config.deadletter_topic)
    indexer = VisibilityIndexer(config, es)
    thread = running(indexer)
    reader = VisibilityReader(es, index_name(prefix))
    completed = 2  # WORKFLOW_EXECUTION_STATUS_COMPLETED
    try:
        expected = {"run-a": (completed, 2), "run-b": (1, 4), "run-committed": (1, 2)}
        eventually(lambda: states(reader) == expected, timeout=60, retry_on=RETRY)
        eventually(lambda: all_committed(kafka_bootstrap, config.group_id, topic), timeout=30)
    finally:
        stop(indexer, thread)
    assert states(reader) == expected
    # The bad record is kept aside with its reason, byte for byte, not silently dropped.
    (letter,) = eventually(lambda: dead_letters(kafka_bootstrap, config.deadletter_topic), 30)
    assert (letter["service"], letter["value"], letter["source_topic"]) == (
        "visibility",
        b"not avro",
        topic,
    )
    assert "undecodable" in letter["error"] and indexer.dead_lettered == 1


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_elasticsearch_down_blocks_the_commit_and_the_batch_replays(
    kafka_bootstrap: str, es: Elasticsearch, es_url: str, prefix: str
) -> None:
    topic = unique_name("vis-topic")
    create_topic(kafka_bootstrap, topic)
    produce(kafka_bootstrap, topic, [("k", encode(run_id="run-late", version=1))])
    group = unique_name("vis-group")
    config = IndexerConfig(bootstrap=kafka_bootstrap, prefix=prefix, topic=topic, group=group)

    dead = Elasticsearch(f"http://127.0.0.1:{free_port()}", request_timeout=2)
    handler = _Records()
    bulk_log = logging.getLogger("visibility_indexer.bulk")
    bulk_log.addHandler(handler)
    down = VisibilityIndexer(config, dead)
    # run_once without run(): run() would first retry installing the template forever.
    thread = threading.Thread(target=batches, args=(down,), daemon=True)
    thread.start()
    try:
        eventually(lambda: sum("bulk request failed" in m for m in handler.messages) >= 2, 60)
        assert committed(kafka_bootstrap, group, topic) == {p: -1001 for p in range(PARTITIONS)}
    finally:
        stop(down, thread)
        bulk_log.removeHandler(handler)
        dead.close()

    up = VisibilityIndexer(config, es)
    thread = running(up)
    reader = VisibilityReader(es, index_name(prefix))
    try:
        eventually(lambda: "run-late" in states(reader), timeout=60, retry_on=RETRY)
    finally:
        stop(up, thread)


def test_cli_runs_until_sigterm(
    kafka_bootstrap: str, es: Elasticsearch, es_url: str, prefix: str, tmp_path: Path
) -> None:
    create_topic(kafka_bootstrap, f"{prefix}.visibility")
    log_path = tmp_path / "indexer.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "visibility_indexer",
                "--bootstrap",
                kafka_bootstrap,
                "--es-url",
                es_url,
                "--prefix",
                prefix,
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            produce(
                kafka_bootstrap,
                f"{prefix}.visibility",
                [(f"k{n}", encode(run_id=f"run-{n}", version=1)) for n in range(5)],
            )
            reader = VisibilityReader(es, index_name(prefix))
            eventually(lambda: reader.count("default", "").count == 5, 60, retry_on=RETRY)
            process.send_signal(signal.SIGTERM)
            assert process.wait(30) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(10)
    output = log_path.read_text()
    assert "received SIGTERM, stopping" in output
    assert "stopped after 5 documents" in output
