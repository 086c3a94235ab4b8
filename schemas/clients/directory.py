"""Which member of a consumer group owns which input partition, by the address it advertises.

Kafka is the only coordinator: a member that takes calls advertises its address in its
consumer ``client.id``, and the group's assignment says which member owns which partition.
``GroupDirectory`` reads both with ``AdminClient.describe_consumer_groups`` and caches the map.
Matching members (``schemas.clients.matching.MatchingDirectory``) and history processes that
take commands directly (``schemas.clients.history_direct``) are found this way.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from streams.connection import AdminClient

log = logging.getLogger(__name__)

_ADMIN_TIMEOUT = 10.0
_RENEW_ADMIN_AFTER = 3  # failed owner lookups in a row after which the admin client is renewed


def owners_from_description(
    description: Any,
    topic: str,
    parse: Callable[[str], str | None],
) -> dict[int, str]:
    """Maps each partition of ``topic`` to the address of the member assigned it.

    Args:
        description: A ``ConsumerGroupDescription`` (anything with ``members``, each with
            ``client_id`` and ``assignment.topic_partitions``).
        topic: The tasks topic (or another group's input topic).
        parse: The address a member's ``client_id`` advertises (None: none).
    """
    owners: dict[int, str] = {}
    for member in getattr(description, "members", None) or ():
        address = parse(member.client_id or "")
        assignment = getattr(member, "assignment", None)
        if address is None or assignment is None:
            continue
        for tp in assignment.topic_partitions or ():
            if tp.topic == topic:
                owners[tp.partition] = address
    return owners


class GroupDirectory:
    """Cached map of a consumer group's input partition -> the address its owner advertises.

    Refreshed when older than ``refresh_interval`` seconds, or at once after ``invalidate``
    (a call to the cached owner failed).

    Args:
        bootstrap: Kafka bootstrap servers.
        group: The consumer group.
        topic: The input topic whose partitions are mapped.
        parse: The address a member's ``client.id`` advertises (None: none).
        refresh_interval: Seconds a lookup stays fresh.
    """

    def __init__(
        self,
        bootstrap: str,
        group: str,
        topic: str,
        parse: Callable[[str], str | None],
        refresh_interval: float = 3.0,
    ) -> None:
        self.topic = topic
        self.group = group
        self._parse = parse
        self._bootstrap = bootstrap
        self._admin = AdminClient({"bootstrap.servers": bootstrap})
        self._failures = 0  # lookups failed in a row
        self._refresh_interval = refresh_interval
        self._owners: dict[int, str] = {}
        self._n_partitions = 0
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()

    def invalidate(self) -> None:
        """Makes the next lookup ask Kafka again."""
        self._fetched_at = None

    async def owners(self) -> dict[int, str]:
        """Partition -> member address, refreshed if stale."""
        await self._ensure_fresh()
        return dict(self._owners)

    async def owner(self, partition: int) -> str | None:
        """The address of the member that owns `partition` (None: none known), refreshed if
        stale; a lookup of one partition copies nothing."""
        await self._ensure_fresh()
        return self._owners.get(partition)

    async def n_partitions(self) -> int:
        """Partition count of the topic (0 if the topic does not exist)."""
        if self._n_partitions == 0:
            await self._ensure_fresh(force=True)
        return self._n_partitions

    async def refresh(self) -> dict[int, str]:
        """Asks Kafka now and returns the new map."""
        await self._ensure_fresh(force=True)
        return dict(self._owners)

    async def _ensure_fresh(self, force: bool = False) -> None:
        fetched_at = self._fetched_at
        async with self._lock:
            # Concurrent polls share one lookup: whoever waited on the lock reuses its result.
            if self._fetched_at is not None and self._fetched_at != fetched_at:
                return
            if not force and self._is_fresh():
                return
            try:
                owners, n = await asyncio.to_thread(self._describe)
            except Exception as exc:
                log.warning("owners lookup of group %s failed: %r", self.group, exc)
                self._failures += 1
                if self._failures % _RENEW_ADMIN_AFTER == 0:
                    # After a broker stall, librdkafka's admin client was seen to answer
                    # "Broker transport failure" for good while every other client of the
                    # process had recovered; a new one connects afresh.
                    log.warning("renewing the admin client after %d failures", self._failures)
                    self._admin = AdminClient({"bootstrap.servers": self._bootstrap})
                return
            self._failures = 0
            self._owners, self._n_partitions = owners, n
            self._fetched_at = time.monotonic()

    def _is_fresh(self) -> bool:
        return (
            self._fetched_at is not None
            and time.monotonic() - self._fetched_at < self._refresh_interval
        )

    def _describe(self) -> tuple[dict[int, str], int]:
        topics = self._admin.list_topics(topic=None, timeout=_ADMIN_TIMEOUT).topics
        meta = topics.get(self.topic)
        n = len(meta.partitions) if meta is not None and meta.error is None else 0
        futures = self._admin.describe_consumer_groups([self.group], request_timeout=_ADMIN_TIMEOUT)
        description = futures[self.group].result(_ADMIN_TIMEOUT)
        return owners_from_description(description, self.topic, self._parse), n
