"""Configuration of a streams application and the Kafka client settings derived from it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from streams.direct import ADDRESS_MARK

MAX_RECORD_BYTES = 64 * 1024 * 1024
"""The largest record Strom writes, set alike on its topics and producers.

Above anything one transaction of a run can hold: a run's history is capped at 50 MiB (as
Temporal caps it) and a request at 4 MiB, so one decision's event batch always fits.
"""

BACKUP_ACK_LINGER_MS = 50
"""How long the Kafka copy of an acknowledgement whose datagram left waits for others.

Its caller normally has the datagram already, so the copy needs no hurry: at a few hundred
acknowledgements a second one produce request carries a dozen of them instead of one each.
"""


DIRECT_KAFKA_WAIT_S = 0.005
"""While direct input is on, an idle loop waits on the direct connections, which wake it at
once, and looks at the input topics after at most this long: nothing can wake a Kafka poll
when a direct input arrives, and the topics then carry only the rarer inputs."""


@dataclass(frozen=True)
class StreamsConfig:
    """How one streams application instance connects, batches and stores state.

    Attributes:
        bootstrap: Kafka bootstrap servers.
        app_id: Consumer group id and prefix of the transactional id.
        instance_id: Stable id of this instance. It must survive restarts of the same
            instance (so a restart fences its dead predecessor at once and aborts its open
            transaction) and must differ between instances running at the same time.
        input_topics: Topics consumed; all must have the changelog's partition count.
        changelog_topic: The topic whose records are the source of truth of the state
            (history events for Strom); partition p restores the store of input partition p.
        state_dir: Root folder of the RocksDB stores, one sub-folder per partition.
        max_batch_records: Inputs processed at most in one transaction.
        max_batch_ms: A transaction is committed at the latest this long after it began.
        commit_when_idle: Commit as soon as no more input is waiting (lowest latency). When
            False a transaction stays open for `max_batch_ms` (largest batches).
        poll_timeout_s: How long one poll waits for input when idle.
        punctuate_interval_ms: How often the processor's time-driven hook runs per partition.
        transaction_timeout_ms: Broker-side limit of an open transaction; a dead
            instance's transaction blocks read_committed readers at most this long.
        transactional_producers: Transactional producers taking turns, one transaction
            each. After a commit the broker is still writing the transaction's markers for a
            few milliseconds; the same transactional id cannot begin its next transaction
            before they are written (the broker answers CONCURRENT_TRANSACTIONS and librdkafka
            backs off 20-100 ms), a second id can at once.
        pipelined_commits: Commit on a worker thread while the loop processes the next
            inputs against the uncommitted state (streams/commit.py, "Pipelining"). False:
            the loop waits for each commit.
        in_flight_wait_ms: While a commit is in flight, the loop waits for it to land at
            most this long (or until a timer is due) before it takes the input that arrived
            meanwhile; a landing ends the wait at once.
        deferred_commit_ms: A transaction whose changes nobody waits for (its inputs were
            deferred with `Context.defer_commit`) waits at most this long for an input that
            somebody does wait for before it commits on its own.
        offsets_commit_interval_ms: Positions of inputs that produced nothing and changed no
            state ride along with the next transaction; without one, they are committed
            on their own after this long.
        session_timeout_ms: Consumer-group session timeout; bounds hand-over time.
        rejoin_patience_s: After its partitions were lost (the session timed out), how long
            the consumer may go without a new assignment before the instance stops
            (`RejoinStalledError`) for its supervisor to start a fresh one. After a 15 s
            broker freeze, librdkafka's consumer was seen never to rejoin: the group stayed
            empty while the process polled on.
        restore_batch_records: Changelog records folded per loop round while a partition
            is restored (between rounds the instance serves its other partitions).
        state_format: The processor's key layout; a local store written with another layout
            is destroyed and rebuilt from the changelog on assignment ("" = no check).
        extra_consumer: Additional librdkafka consumer settings.
        extra_producer: Additional librdkafka producer settings.
        max_produce_records_per_second: Produce-rate limit of the instance (Temporal's
            persistence QPS; see `streams.throttle`); 0 = unlimited.
        direct_host: Take direct inputs for the partitions of the first input topic over
            TCP on a free port of this interface (`streams.direct`), advertised in the
            consumer's `client.id`; None: only the topics.
    """

    bootstrap: str
    app_id: str
    instance_id: str
    input_topics: tuple[str, ...]
    changelog_topic: str
    state_dir: Path
    max_batch_records: int = 500
    max_batch_ms: int = 100
    commit_when_idle: bool = True
    poll_timeout_s: float = 0.05
    punctuate_interval_ms: int = 100
    transaction_timeout_ms: int = 10_000
    transactional_producers: int = 2
    pipelined_commits: bool = True
    in_flight_wait_ms: float = 5.0
    deferred_commit_ms: float = 50.0
    offsets_commit_interval_ms: int = 1_000
    session_timeout_ms: int = 6_000
    rejoin_patience_s: float = 120.0
    restore_batch_records: int = 5_000
    state_format: str = ""
    extra_consumer: dict[str, Any] = field(default_factory=dict)
    extra_producer: dict[str, Any] = field(default_factory=dict)
    max_produce_records_per_second: float = 0.0
    direct_host: str | None = None

    @property
    def transactional_ids(self) -> list[str]:
        """The producers' transactional ids, stable per instance (the first is the oldest)."""
        first = f"{self.app_id}-{self.instance_id}"
        return [first] + [f"{first}.{k}" for k in range(1, self.transactional_producers)]

    def consumer_settings(self, direct_address: str | None = None) -> dict[str, Any]:
        """librdkafka settings of the input consumer; `direct_address` ("host:port") is
        advertised in its `client.id` (`streams.direct`)."""
        client_id = f"{self.app_id}-{self.instance_id}"
        if direct_address is not None:
            client_id += f"{ADDRESS_MARK}{direct_address}"
        return {
            "bootstrap.servers": self.bootstrap,
            "group.id": self.app_id,
            "client.id": client_id,
            "isolation.level": "read_committed",
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "auto.offset.reset": "earliest",
            "session.timeout.ms": self.session_timeout_ms,
            # Members learn of a rebalance (a member left or joined) from their next
            # heartbeat, and the group waits for the last of them: this bounds that wait.
            "heartbeat.interval.ms": max(100, self.session_timeout_ms // 20),
            "max.poll.interval.ms": 300_000,
            "partition.assignment.strategy": "range",
            "fetch.wait.max.ms": 100,
            **self.extra_consumer,
        }

    @property
    def incremental_rebalance(self) -> bool:
        """True when `extra_consumer` asks for incremental (cooperative) rebalancing.

        Range assignment (eager) is the default: it keeps partition p of every input topic on
        one member, and it aborts nothing. Under "cooperative-sticky" only the partitions
        that change owner stop, but a transaction in flight when the group's generation
        changes is refused on every member (ILLEGAL_GENERATION), and on this broker the
        producer's next transaction then failed too (OUT_OF_ORDER_SEQUENCE_NUMBER) seconds
        later: each rebalance cost every member one or two aborts.
        """
        strategy = self.consumer_settings()["partition.assignment.strategy"]
        return "cooperative" in str(strategy)

    def producer_settings(self, transactional_id: str) -> dict[str, Any]:
        """librdkafka settings of one transactional producer."""
        return {
            "bootstrap.servers": self.bootstrap,
            "transactional.id": transactional_id,
            "transaction.timeout.ms": self.transaction_timeout_ms,
            "linger.ms": 0,
            "acks": "all",
            # librdkafka retries AddOffsetsToTxn after retry.backoff.ms when the broker is
            # still completing this id's previous transaction; the default 100 ms is idle time.
            "retry.backoff.ms": 5,
            "retry.backoff.max.ms": 100,
            "message.max.bytes": MAX_RECORD_BYTES,
            **self.extra_producer,
        }

    def ack_producer_settings(self, backup: bool = False) -> dict[str, Any]:
        """librdkafka settings of a plain producer of `Context.send_after_commit`.

        `backup`: the producer of the Kafka copies of acknowledgements whose datagram left
        (`streams.datagrams`), which wait up to BACKUP_ACK_LINGER_MS for company.
        """
        return {
            "bootstrap.servers": self.bootstrap,
            "client.id": f"{self.app_id}-{self.instance_id}-acks" + ("-backup" if backup else ""),
            "linger.ms": BACKUP_ACK_LINGER_MS if backup else 0,
            "acks": "all",
            "enable.idempotence": True,
            "message.max.bytes": MAX_RECORD_BYTES,
        }

    def restore_consumer_settings(self) -> dict[str, Any]:
        """librdkafka settings of the group-less consumer that replays the changelog."""
        return {
            "bootstrap.servers": self.bootstrap,
            "group.id": f"{self.app_id}.restore",
            "client.id": f"{self.app_id}-{self.instance_id}-restore",
            "isolation.level": "read_committed",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "auto.offset.reset": "earliest",
            "fetch.wait.max.ms": 100,
        }
