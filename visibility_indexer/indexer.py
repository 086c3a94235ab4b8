"""The indexer loop: visibility topic -> Elasticsearch bulk with external versions -> commit.

Delivery is at-least-once and the result exactly-once in effect:

1. Poll a batch of committed records (``read_committed``) from the visibility topic.
2. Map each to a bulk action whose external version is the record's version; keep the newest
   action per document.
3. Bulk-index until every action is applied, or rejected as older than the stored document
   (HTTP 409, success: a newer state is already there). Elasticsearch failures are retried with
   backoff; the batch is never skipped.
4. Only then commit the batch's offsets. A crash before the commit replays the batch, which the
   versions make harmless.

A record that cannot be decoded, and a document Elasticsearch refuses for good (a mapping
error), are written to the cluster's dead-letter topic with the reason before the offsets
commit (`strom dlq` lists and replays them), and counted; they never block the partition.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, KafkaError, KafkaException, Message, TopicPartition
from elasticsearch import ApiError, Elasticsearch, TransportError

from schemas import deadletter
from schemas.topics import Topology
from schemas.visibility.template import ensure_template, index_name
from streams import metrics
from streams.connection import Consumer, Producer
from streams.offsets import committed as committed_offsets
from visibility_indexer.bulk import bulk_until_done, newest_per_document
from visibility_indexer.documents import IndexAction, build_action

log = logging.getLogger(__name__)

_ASSIGN_TIMEOUT_S = 30.0  # one request for the committed offsets of new partitions

Decoder = Callable[[bytes], Mapping[str, Any]]
"""Turns a record value into a VisibilityRecord dict."""


def default_decoder() -> Decoder:
    """Decodes values with Strom's Avro schemas (``schemas.VISIBILITY_RECORD``)."""
    import schemas  # imported late: only the running indexer needs the codec

    def decode(value: bytes) -> Mapping[str, Any]:
        record: Mapping[str, Any] = schemas.decode(value, schemas.VISIBILITY_RECORD)
        return record

    return decode


@dataclass(frozen=True)
class IndexerConfig:
    """Where the indexer reads and writes.

    Attributes:
        bootstrap: Kafka bootstrap servers.
        prefix: The cluster name; topic ``<prefix>.visibility``, group
            ``<prefix>.visibility-indexer``, index ``<prefix>-visibility``.
        topic: Overrides the topic (tests use unique topics).
        group: Overrides the consumer group.
        index: Overrides the index.
        batch_size: Most records per bulk request.
        poll_timeout: Seconds one poll waits for the first record of a batch.
        linger: Seconds a batch keeps gathering records after its first one: fewer, larger
            bulk requests under load (Elasticsearch makes documents searchable only at its
            next refresh, a second later, anyway).
        max_backoff: Longest pause between Elasticsearch retries, in seconds.
        deadletter: Overrides the dead-letter topic.
    """

    bootstrap: str
    prefix: str = "strom"
    topic: str | None = None
    group: str | None = None
    index: str | None = None
    batch_size: int = 500
    poll_timeout: float = 0.5
    linger: float = 0.5
    max_backoff: float = 5.0
    deadletter: str | None = None

    @property
    def deadletter_topic(self) -> str:
        """Where undecodable records and refused documents go."""
        return self.deadletter or Topology(self.prefix).deadletter

    @property
    def topic_name(self) -> str:
        """The visibility topic read."""
        return self.topic or Topology(self.prefix).visibility

    @property
    def group_id(self) -> str:
        """The consumer group."""
        return self.group or Topology(self.prefix).indexer_group

    @property
    def index_name(self) -> str:
        """The Elasticsearch index written."""
        return self.index or index_name(self.prefix)


class VisibilityIndexer:
    """Consumes the visibility topic and keeps the visibility index up to date.

    Not thread-safe: one thread runs :meth:`run` (or :meth:`run_once`); another may call
    :meth:`stop`. Call :meth:`close` when done, from the running thread after ``run`` returned.
    """

    def __init__(
        self,
        config: IndexerConfig,
        es: Elasticsearch,
        *,
        decoder: Decoder | None = None,
        consumer_config: Mapping[str, Any] | None = None,
    ) -> None:
        """Creates the indexer and subscribes its consumer.

        Args:
            config: Topic, group, index and batching.
            es: The Elasticsearch client.
            decoder: Record decoder; Strom's Avro schemas by default.
            consumer_config: Extra librdkafka settings, applied last.
        """
        self.config = config
        self._es = es
        self._decode = decoder or default_decoder()
        self._stopping = threading.Event()
        settings: dict[str, Any] = {
            "bootstrap.servers": config.bootstrap,
            "group.id": config.group_id,
            "isolation.level": "read_committed",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
        settings.update(consumer_config or {})
        self._consumer = Consumer(settings)
        self._consumer.subscribe([config.topic_name], on_assign=self._on_assign)
        self._producer = Producer(
            {"bootstrap.servers": config.bootstrap, "enable.idempotence": True, "linger.ms": 0}
        )
        self._committed: dict[tuple[str, int], int] = {}
        self._sources: dict[tuple[str, int], Message] = {}
        self.indexed = 0
        """Actions applied or found stale so far (for tests and metrics)."""
        self.dead_lettered = 0
        """Records dead-lettered so far: undecodable, or refused by Elasticsearch."""

    def _on_assign(self, consumer: Any, partitions: list[TopicPartition]) -> None:
        # Explicit start offsets: librdkafka's own fetch of them can stall for good after a
        # coordinator move (see streams.offsets). Runs inside poll().
        consumer.assign(
            committed_offsets(consumer, partitions, _ASSIGN_TIMEOUT_S, OFFSET_BEGINNING)
        )

    def stop(self) -> None:
        """Asks :meth:`run` to return after the current batch; safe from any thread or signal."""
        self._stopping.set()

    @property
    def stopping(self) -> bool:
        """Whether :meth:`stop` was called."""
        return self._stopping.is_set()

    def run(self) -> None:
        """Installs the index template, then indexes batches until :meth:`stop`."""
        self._retrying("install the index template", self._ensure_template)
        while not self.stopping:
            self.run_once()

    def run_once(self) -> int:
        """Indexes one batch (Steps 1-4 of the module docstring).

        Returns:
            Records consumed in the batch; 0 when none arrived within ``poll_timeout``.
        """
        # Step 1: poll first, then drain what is already fetched (consume(n, t) waits out t).
        first = self._consumer.poll(self.config.poll_timeout)
        if first is None:
            self._commit_idle_positions()
            return 0
        messages = [first, *self._consumer.consume(self.config.batch_size - 1, 0)]
        gather_until = time.monotonic() + self.config.linger
        while len(messages) < self.config.batch_size and time.monotonic() < gather_until:
            more = self._consumer.poll(max(0.0, gather_until - time.monotonic()))
            if more is None:
                break
            messages.append(more)
            messages += self._consumer.consume(self.config.batch_size - len(messages), 0)
        records = [m for m in messages if self._is_record(m)]
        # Step 2: tombstones of the compacted topic carry nothing to index.
        self._sources = {}
        actions = newest_per_document(self._actions(m for m in records if m.value() is not None))
        # Step 3
        writing = time.monotonic()
        if not bulk_until_done(
            self._es,
            self.config.index_name,
            actions,
            self._stopping,
            max_backoff=self.config.max_backoff,
            on_rejected=self._refused,
        ):
            return len(records)  # stopping: leave the offsets uncommitted, the batch replays
        metrics.visibility_written(writing, len(actions))
        self.indexed += len(actions)
        # Step 4, once the dead letters are stored: they must outlive the offsets.
        if self._producer.flush(30) != 0:
            log.error("dead letters not acknowledged; the batch will be replayed")
            return len(records)
        if records:
            self._commit(records)
        return len(records)

    def close(self) -> None:
        """Leaves the consumer group and closes the consumer (not the Elasticsearch client)."""
        self._consumer.close()
        self._producer.flush(5)

    def _ensure_template(self) -> None:
        ensure_template(self._es, self.config.prefix)
        index = self.config.index_name
        # An overriding index should match <prefix>-visibility* to get the template.
        if index != index_name(self.config.prefix) and not self._es.indices.exists(index=index):
            self._es.indices.create(index=index)

    def _is_record(self, message: Message) -> bool:
        error = message.error()
        if error is None:
            return True
        if error.fatal():
            raise KafkaException(error)
        log.warning("visibility consumer: %s", error)
        return False

    def _actions(self, records: Iterable[Message]) -> Iterable[IndexAction]:
        for message in records:
            value = message.value()
            assert value is not None
            try:
                action = build_action(self._decode(value))
            except Exception as exc:
                # A record that cannot be decoded never will be: kept aside, never blocking.
                log.exception(
                    "undecodable visibility record %s[%d]@%d",
                    message.topic(),
                    message.partition(),
                    message.offset(),
                )
                self._dead_letter(message, f"undecodable visibility record: {exc!r}")
                continue
            self._sources[(action.doc_id, action.version)] = message
            yield action

    def _refused(self, action: IndexAction, outcome: Mapping[str, Any]) -> None:
        source = self._sources.get((action.doc_id, action.version))
        if source is not None:
            self._dead_letter(source, f"Elasticsearch refused the document: {outcome}")

    def _dead_letter(self, message: Message, error: str) -> None:
        record = deadletter.record_for("visibility", message, error, int(time.time() * 1000))
        key, value = deadletter.encode(record)
        self._producer.produce(self.config.deadletter_topic, value, key, partition=0)
        self.dead_lettered += 1

    def _retrying(self, what: str, attempt: Callable[[], None]) -> bool:
        """Runs ``attempt`` until it raises no Elasticsearch error; False if stopped first."""
        delay = 0.05
        while not self.stopping:
            try:
                attempt()
                return True
            except (TransportError, ApiError) as err:
                log.warning("could not %s, retrying in %.2fs: %s", what, delay, err)
            self._stopping.wait(delay)
            delay = min(delay * 2, self.config.max_backoff)
        return False

    def _commit(self, records: list[Message]) -> None:
        offsets: dict[tuple[str, int], int] = {}
        for message in records:
            key = (str(message.topic()), int(message.partition() or 0))
            offsets[key] = max(offsets.get(key, 0), int(message.offset() or 0) + 1)
        self._commit_offsets(offsets)

    def _commit_idle_positions(self) -> None:
        """Commits positions that moved past transaction markers without a record to index.

        A batch commits last offset + 1; when a transaction marker follows, the position is one
        further once the consumer has read it. Committing that on an idle poll leaves no
        phantom lag on a topic written transactionally.
        """
        assigned = self._consumer.assignment()
        if not assigned:
            return
        offsets = {
            (tp.topic, tp.partition): tp.offset
            for tp in self._consumer.position(assigned)
            if tp.offset > self._committed.get((tp.topic, tp.partition), -1)
            and (tp.topic, tp.partition) in self._committed
        }
        if offsets:
            self._commit_offsets(offsets)

    def _commit_offsets(self, offsets: dict[tuple[str, int], int]) -> None:
        partitions = [TopicPartition(t, p, o) for (t, p), o in offsets.items()]
        try:
            self._consumer.commit(offsets=partitions, asynchronous=False)
        except KafkaException as err:
            # The partitions moved to another member during the batch; it replays from the
            # last commit, which the external versions make harmless.
            if err.args and isinstance(err.args[0], KafkaError) and err.args[0].fatal():
                raise
            log.warning("offset commit failed, the batch will be replayed: %s", err)
            return
        self._committed.update(offsets)
