"""The replicator's consume-transform-produce loop between two Kafka clusters, exactly once."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import confluent_kafka
from confluent_kafka import OFFSET_BEGINNING, KafkaError, KafkaException, Message, TopicPartition
from temporalio.api.history.v1 import History, HistoryEvent

import schemas
from replicator import lag, rules
from schemas import inbox
from schemas.namespaces import KafkaNamespaceRegistry, Namespace
from schemas.topics import Topology
from streams import TopicSpec, ensure_topics
from streams.connection import Producer
from streams.readers import read_to_end

log = logging.getLogger(__name__)

_TIMEOUT_S = 30.0
_BATCH = 500
_LAG_EVERY_S = 2.0
_LETTERS_KEY = b"deadletter"


@dataclass(frozen=True)
class ReplicatorConfig:
    """Where the replicator reads and writes.

    Attributes:
        bootstrap: This (standby) cluster's Kafka.
        prefix: This cluster's name.
        remote_bootstrap: The source (active) cluster's Kafka.
        remote_prefix: The source cluster's name.
        remote_kafka: More librdkafka settings for the source cluster's clients (security).
        remote_initial_version: The failover versions the source cluster owns; None: taken
            from this cluster's remote-cluster record of the source
            (AddOrUpdateRemoteCluster), read when the replicator starts.
    """

    bootstrap: str
    prefix: str
    remote_bootstrap: str
    remote_prefix: str
    remote_kafka: Mapping[str, str] = field(default_factory=dict)
    remote_initial_version: int | None = None

    @property
    def transactional_id(self) -> str:
        """One per (standby, source) pair: a second replicator fences the first."""
        return f"{self.prefix}.replicator.{self.remote_prefix}"


class Replicator:
    """Copies the source cluster's global-namespace batches into this cluster's history.

    Each round follows these steps, in this order:

    1. Poll up to 500 records of the source's events topic (read_committed: only batches
       the source committed).
    2. Begin a transaction on the local transactional producer and produce, for every
       batch the source wrote (`rules.written_by`: not one it folded from this or a third
       cluster) of a global namespace shared with this cluster (`rules.shared_with`), a
       ReplicateEvents command to the local inbox partition of its workflow, and the
       source's newer global namespace records (`rules.namespace_copy`) to the local
       namespaces topic.
    3. Produce the next position of every source partition read to the progress topic, in
       the same transaction. A batch history refused for a gap (a dead letter on this
       cluster's dead-letter topic naming a source record, `rules.gap_at`) rewinds its
       source partition to its start, once per refused record: the batches the standby
       lacks come again, before the refused one, and history ignores those it has. The
       dead-letter topic's position is kept in the progress topic too.
    4. Commit. The commands and the positions become visible together, or, after an abort,
       neither: the consumer is then rewound to the committed positions and reads again.
       A restarted replicator calls `init_transactions` (which aborts a transaction its
       predecessor left open and fences it) before it reads the progress topic.

    History ignores a batch it already folded, so even a replicator with lost progress
    only repeats work; the transaction keeps that from happening in normal operation.
    """

    def __init__(self, config: ReplicatorConfig, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self._clock = clock
        self._stop = threading.Event()
        self._local = Topology.from_cluster(config.bootstrap, config.prefix)
        self._source = Topology(config.remote_prefix)
        self.progress_topic = self._local.replication_progress(config.remote_prefix)
        self._positions: dict[int, int] = {}
        self._last_lag = 0.0
        # The remote namespace records already copied, until the local reader shows them.
        self._copied: dict[str, Namespace] = {}
        self._local_ns: KafkaNamespaceRegistry | None = None
        self._source_version = config.remote_initial_version
        self._letters_at: int | None = None  # next dead letter to look at
        self._rerequested: set[tuple[int, int]] = set()
        # Source partitions being read again, by the position the re-read must pass: letters
        # of batches below it (sent before the rewind) need no rewind of their own.
        self._rereading: dict[int, int] = {}

    def stop(self) -> None:
        """Asks `run` to return after its current round."""
        self._stop.set()

    def run(self) -> None:
        """Replicates until `stop`; raises on a Kafka failure it cannot retry."""
        config = self.config
        ensure_topics(config.bootstrap, [TopicSpec(self.progress_topic, 1, "compact")])
        if self._source_version is None:
            self._source_version = source_version(config)
        remote_settings = dict(config.remote_kafka)
        remote_ns = KafkaNamespaceRegistry(
            config.remote_bootstrap,
            config.remote_prefix,
            extra_consumer=remote_settings,
            extra_producer=remote_settings,
        )
        local_ns = KafkaNamespaceRegistry(config.bootstrap, config.prefix)
        self._local_ns = local_ns
        remote_ns.start()
        local_ns.start()
        producer = Producer(
            {
                "bootstrap.servers": config.bootstrap,
                "transactional.id": config.transactional_id,
                "enable.idempotence": True,
                "acks": "all",
            }
        )
        producer.init_transactions(_TIMEOUT_S)
        consumer = confluent_kafka.Consumer(
            {
                "bootstrap.servers": config.remote_bootstrap,
                "group.id": f"{config.transactional_id}.{uuid.uuid4().hex}",
                "enable.auto.commit": False,
                "isolation.level": "read_committed",
                "auto.offset.reset": "earliest",
                **remote_settings,
            }
        )
        letters = confluent_kafka.Consumer(
            {
                "bootstrap.servers": config.bootstrap,
                "group.id": f"{config.transactional_id}.letters.{uuid.uuid4().hex}",
                "enable.auto.commit": False,
                "isolation.level": "read_committed",
            }
        )
        try:
            self._positions = self._read_progress()
            self._assign(consumer)
            self._assign_letters(letters)
            while not self._stop.is_set():
                self._round(consumer, producer, remote_ns, local_ns, letters)
        finally:
            letters.close()
            consumer.close()
            remote_ns.close()
            local_ns.close()

    # -- steps -----------------------------------------------------------------------------

    def _round(
        self,
        consumer: Any,
        producer: Any,
        remote_ns: KafkaNamespaceRegistry,
        local_ns: KafkaNamespaceRegistry,
        letters: Any,
    ) -> None:
        # Step 1
        first = consumer.poll(0.5)
        records = [first, *consumer.consume(_BATCH - 1, 0)] if first is not None else []
        records = [r for r in records if r is not None and not _benign(r)]
        copies = self._namespace_copies(remote_ns, local_ns)
        rewind, letters_at, gaps = self._gaps(letters)
        self._report_lag(consumer)
        if not records and not copies and letters_at == self._letters_at:
            return
        # Step 2
        producer.begin_transaction()
        try:
            outputs, applied = self._outputs(records, remote_ns, copies)
            for topic, key, value, partition in outputs:
                producer.produce(topic, value, key, partition=partition)
            # Step 3
            moved = {r.partition(): r.offset() + 1 for r in records}
            moved.update({partition: 0 for partition in rewind})
            for partition, position in moved.items():
                producer.produce(
                    self.progress_topic, str(position).encode(), _progress_key(partition)
                )
            if letters_at is not None and letters_at != self._letters_at:
                producer.produce(self.progress_topic, str(letters_at).encode(), _LETTERS_KEY)
            # Step 4
            producer.commit_transaction(_TIMEOUT_S)
        except KafkaException as exc:
            log.warning("replication transaction aborted, reading again: %s", exc)
            _abort(producer)
            self._rerequested -= gaps  # their letters are read again
            for partition in rewind:
                self._rereading.pop(partition, None)
            self._assign(consumer)
            self._assign_letters(letters)
            return
        self._positions.update(moved)
        self._letters_at = letters_at
        if rewind:
            log.info(
                "re-reading %s partitions %s for batches history lacks",
                self._source.events,
                sorted(rewind),
            )
            lag.rerequested(self.config.remote_prefix, len(rewind))
            self._assign(consumer)
        now = self._clock()
        for event in applied:
            lag.observe(self.config.remote_prefix, now - event.event_time.ToMilliseconds() / 1000)

    def _outputs(
        self,
        records: list[Message],
        remote_ns: KafkaNamespaceRegistry,
        copies: list[Namespace],
    ) -> tuple[list[tuple[str, bytes, bytes | None, int]], list[HistoryEvent]]:
        """The records of step 2, and the newest event of each replicated batch (for the lag)."""
        outputs: list[tuple[str, bytes, bytes | None, int]] = []
        for namespace in copies:
            value = schemas.encode(schemas.NAMESPACE, namespace.to_record())
            outputs.append((self._local.namespaces, namespace.name.encode(), value, 0))
        newest: list[HistoryEvent] = []
        for record in records:
            command = self._command(record, remote_ns)
            if command is None:
                continue
            payload, events = command
            key, partition = inbox.placement(
                payload["namespace"], payload["workflow_id"], self._local.shards
            )
            value = schemas.encode(schemas.INBOX_COMMAND, payload)
            outputs.append((self._local.inbox, key, value, partition))
            if events:
                newest.append(events[-1])
        return outputs, newest

    def _command(
        self, record: Message, remote_ns: KafkaNamespaceRegistry
    ) -> tuple[Any, list[HistoryEvent]] | None:
        """The ReplicateEvents inbox record of one source record, or None to skip it."""
        value, key = record.value(), record.key()
        if value is None or key is None:
            return None  # a tombstone of a deleted run's batch
        try:
            batch = schemas.decode(value, schemas.EVENT_BATCH)
            transition = rules.transition_of(key)
        except (schemas.SchemaError, ValueError) as exc:
            log.error("skipping undecodable batch at %s: %s", _where(record), exc)
            return None
        namespace = remote_ns.get(batch["namespace"])
        if namespace is None:
            # Registered just before its first workflow: wait until the namespaces reader
            # has read what the source committed so far.
            namespace = _wait_for(remote_ns, batch["namespace"])
        events = list(History.FromString(batch["events"]).events)
        if self._source_version is not None:
            if not rules.shared_with(namespace, self.config.prefix):
                return None
            if not rules.written_by(events, self._source_version):
                return None  # this cluster's own batch coming back, or a third cluster's
        else:
            local = self._local_ns.get(batch["namespace"]) if self._local_ns is not None else None
            if not rules.replicated_here(
                namespace, self.config.prefix, self.config.remote_prefix, local
            ):
                return None
        assert namespace is not None
        message = inbox.ReplicateEvents(
            source_cluster=self.config.remote_prefix,
            batch=value,
            transition=transition,
            failover_version=rules.batch_version(events, namespace.failover_version),
        )
        command_id = rules.command_id(
            self.config.remote_prefix, record.partition() or 0, record.offset() or 0
        )
        payload = inbox.command_record(
            command_id,
            batch["namespace"],
            batch["workflow_id"],
            inbox.REPLICATE_EVENTS,
            message.to_bytes(),
            int(self._clock() * 1000),
        )
        return payload, events

    def _namespace_copies(
        self, remote_ns: KafkaNamespaceRegistry, local_ns: KafkaNamespaceRegistry
    ) -> list[Namespace]:
        copies = []
        for remote in remote_ns.list():
            if self.config.prefix not in remote.clusters or self._copied.get(remote.name) == remote:
                continue
            copy = rules.namespace_copy(
                remote, local_ns.get(remote.name), self.config.remote_prefix
            )
            if copy is not None:
                copies.append(copy)
                self._copied[remote.name] = remote
        return copies

    # -- positions ---------------------------------------------------------------------------

    def _read_progress(self) -> dict[int, int]:
        """The committed positions, read to the end of the progress topic (and the dead-letter
        topic's, into ``_letters_at``).

        The end is the high watermark taken after init_transactions: nothing of this
        replicator's is still open then.
        """
        positions: dict[int, int] = {}
        for msg in read_to_end(self.config.bootstrap, self.progress_topic, 0, _TIMEOUT_S):
            key, value = msg.key(), msg.value()
            if key == _LETTERS_KEY and value is not None:
                self._letters_at = int(value.decode())
            elif key is not None and value is not None:
                positions[int(key.decode())] = int(value.decode())
        return positions

    def _assign_letters(self, letters: Any) -> None:
        """(Re)assigns this cluster's dead-letter topic at the committed position; the first
        time at its end (older letters are not this replicator's)."""
        topic = self._local.deadletter
        if self._letters_at is None:
            _, high = letters.get_watermark_offsets(TopicPartition(topic, 0), timeout=_TIMEOUT_S)
            self._letters_at = high
        letters.assign([TopicPartition(topic, 0, self._letters_at)])

    def _gaps(self, letters: Any) -> tuple[set[int], int | None, set[tuple[int, int]]]:
        """The source partitions to read again for gaps history reported, the position after
        the dead letters read, and the refused source records they name."""
        rewind: set[int] = set()
        gaps: set[tuple[int, int]] = set()
        at = self._letters_at
        for letter in letters.consume(100, 0):
            if letter is None or _benign(letter):
                continue
            at = letter.offset() + 1
            try:
                record = schemas.decode(letter.value() or b"", schemas.DEAD_LETTER)
            except schemas.SchemaError:
                continue
            where = rules.gap_at(record, self.config.remote_prefix, self._local.inbox)
            if where is None or where in self._rerequested:
                continue  # once per record: a gap re-reading cannot fill stays one
            self._rerequested.add(where)
            gaps.add(where)
            partition, offset = where
            if offset < self._rereading.get(partition, -1):
                continue
            rewind.add(partition)
            self._rereading[partition] = self._positions.get(partition, 0)
        for partition, mark in list(self._rereading.items()):
            if partition not in rewind and self._positions.get(partition, 0) >= mark:
                del self._rereading[partition]
        return rewind, at, gaps

    def _assign(self, consumer: Any) -> None:
        """(Re)assigns every source events partition at its committed position."""
        metadata = consumer.list_topics(self._source.events, timeout=_TIMEOUT_S)
        topic = metadata.topics.get(self._source.events)
        if topic is None or topic.error is not None:
            raise KafkaException(f"source topic {self._source.events} is not readable")
        consumer.assign(
            [
                TopicPartition(self._source.events, p, self._positions.get(p, OFFSET_BEGINNING))
                for p in sorted(topic.partitions)
            ]
        )

    def _report_lag(self, consumer: Any) -> None:
        """Updates replication_tasks_lag: source records not yet replicated, per partition."""
        now = time.monotonic()
        if now - self._last_lag < _LAG_EVERY_S:
            return
        self._last_lag = now
        for tp in consumer.assignment():
            try:
                _, high = consumer.get_watermark_offsets(tp, timeout=1.0)
            except KafkaException:
                continue
            done = self._positions.get(tp.partition, 0)
            lag.records_behind(self.config.remote_prefix, tp.partition, max(0, high - done))


def source_version(config: ReplicatorConfig) -> int | None:
    """The source's initial failover version from this cluster's record of it, or None.

    Without it the replicator falls back to `rules.replicated_here` (one direction only:
    batches of namespaces active in the source), and says so.
    """
    from schemas.clusters import KafkaClusterStore

    for cluster in KafkaClusterStore(config.bootstrap, config.prefix).list():
        if cluster.name == config.remote_prefix:
            return cluster.initial_failover_version
    log.warning(
        "no remote-cluster record of %s: replicating only namespaces active there "
        "(add it with AddOrUpdateRemoteCluster, or pass --remote-initial-failover-version)",
        config.remote_prefix,
    )
    return None


def _wait_for(registry: KafkaNamespaceRegistry, name: str) -> Namespace | None:
    deadline = time.monotonic() + 10.0
    while time.monotonic() < deadline:
        found = registry.get(name)
        if found is not None:
            return found
        time.sleep(0.1)
    return None


def _benign(record: Message) -> bool:
    error = record.error()
    if error is None:
        return False
    if error.code() != KafkaError._PARTITION_EOF:
        log.warning("source read error: %s", error)
    return True


def _abort(producer: Any) -> None:
    try:
        producer.abort_transaction(_TIMEOUT_S)
    except KafkaException as exc:
        log.warning("abort failed: %s", exc)


def _progress_key(partition: int) -> bytes:
    return str(partition).encode()


def _where(record: Message) -> str:
    return f"{record.partition()}/{record.offset()}"
