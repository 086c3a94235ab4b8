"""`kafka_consumergroup_lag` for Prometheus: a consumer group's lag, read from Kafka at scrape.

The lag of a partition is its end offset minus the group's committed offset, as Kafka's own
`kafka-consumer-groups` and the common Kafka exporters count it (transaction markers included,
so a partition written transactionally may show a lag of 1 when all its records are read).
Every member of a group reports the whole group's lag; dashboards take the max over members.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

from confluent_kafka import KafkaException, TopicPartition
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from streams.connection import Consumer

log = logging.getLogger(__name__)

_LAG_TIMEOUT_S = 2.0
_LAG_CACHE_S = 5.0


@dataclass
class _LagSource:
    bootstrap: str
    group: str
    topic: str
    consumer: Consumer | None = None
    at: float = 0.0
    lags: tuple[tuple[int, int], ...] = ()

    def read(self) -> tuple[tuple[int, int], ...]:
        """(partition, lag) of every partition, at most `_LAG_CACHE_S` old."""
        if time.monotonic() - self.at < _LAG_CACHE_S:
            return self.lags
        if self.consumer is None:
            # Carries the group's id to read its committed offsets; it never subscribes, so it
            # never joins the group.
            self.consumer = Consumer(
                {
                    "bootstrap.servers": self.bootstrap,
                    "group.id": self.group,
                    "enable.auto.commit": False,
                    "client.id": f"{self.group}.metrics",
                }
            )
        topic = self.consumer.list_topics(self.topic, timeout=_LAG_TIMEOUT_S).topics[self.topic]
        partitions = [TopicPartition(self.topic, p) for p in sorted(topic.partitions)]
        committed = self.consumer.committed(partitions, timeout=_LAG_TIMEOUT_S)
        lags = []
        for tp in committed:
            low, high = self.consumer.get_watermark_offsets(
                TopicPartition(self.topic, tp.partition), timeout=_LAG_TIMEOUT_S
            )
            # No commit yet: everything still in the partition is unread.
            lags.append((tp.partition, max(0, high - (tp.offset if tp.offset >= 0 else low))))
        self.lags, self.at = tuple(lags), time.monotonic()
        return self.lags


class LagCollector(Collector):
    """`kafka_consumergroup_lag` of the groups the process's services consume as."""

    def __init__(self) -> None:
        self._sources: list[_LagSource] = []
        self._lock = threading.Lock()

    def add(self, bootstrap: str, group: str, topic: str) -> None:
        """Reports the lag of `group` on `topic` from now on."""
        with self._lock:
            self._sources.append(_LagSource(bootstrap, group, topic))

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "kafka_consumergroup_lag",
            "End offset of a partition minus the consumer group's committed offset.",
            labels=["consumergroup", "topic", "partition"],
        )
        with self._lock:  # scrapes may overlap; one Consumer is not shared between them
            for source in self._sources:
                try:
                    lags = source.read()
                except (KafkaException, KeyError) as exc:
                    log.warning("consumer lag of %s unreadable: %s", source.group, exc)
                    continue
                for partition, lag in lags:
                    family.add_metric([source.group, source.topic, str(partition)], lag)
        yield family

    def close(self) -> None:
        """Closes the consumers and forgets every group."""
        with self._lock:
            for source in self._sources:
                if source.consumer is not None:
                    source.consumer.close()
            self._sources = []
