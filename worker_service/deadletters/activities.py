"""The dead-letter activities: read ``<prefix>.deadletter`` and put letters back on their source.

They reuse the readers of `strom dlq` (``strom._deadletters``), so the workflow and the CLI
list and replay exactly the same way.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from strom._deadletters import DeadLetter, read, replay
from strom._kafka_tools import Cluster, KafkaToolError

LIST_ACTIVITY = "temporal-sys-dlq-list"
REPLAY_ACTIVITY = "temporal-sys-dlq-replay"


@dataclass(frozen=True)
class KafkaAddress:
    """Where the cluster's topics are.

    Attributes:
        bootstrap: Kafka bootstrap servers.
        prefix: The cluster's topic prefix.
    """

    bootstrap: str
    prefix: str


def choose(letters: list[DeadLetter], offsets: list[int]) -> list[DeadLetter]:
    """The letters at ``offsets``; every replayable one when ``offsets`` is empty.

    Raises:
        ApplicationError: Non-retryable, naming an offset that holds no dead letter or one
            without a source to go back to.
    """
    if not offsets:
        return [letter for letter in letters if letter.replayable]
    by_offset = {letter.offset: letter for letter in letters}
    chosen = []
    for offset in offsets:
        letter = by_offset.get(offset)
        if letter is None:
            raise ApplicationError(
                f"no dead letter at offset {offset}", type="NotFound", non_retryable=True
            )
        if not letter.replayable:
            raise ApplicationError(
                f"dead letter @{offset} has no source topic to go back to",
                type="NotReplayable",
                non_retryable=True,
            )
        chosen.append(letter)
    return chosen


class DeadLetterActivities:
    """Activities bound to the cluster's Kafka."""

    def __init__(self, kafka: KafkaAddress) -> None:
        self._kafka = kafka

    def _letters(self) -> list[DeadLetter]:
        try:
            return read(Cluster.open(self._kafka.bootstrap, self._kafka.prefix))
        except KafkaToolError as err:
            raise ApplicationError(str(err), type="KafkaUnavailable") from None

    @activity.defn(name=LIST_ACTIVITY)
    async def list_letters(self) -> list[dict[str, Any]]:
        """Every dead letter, oldest first, as `strom dlq list --json` shows it."""
        letters = await asyncio.to_thread(self._letters)
        return [letter.to_json() for letter in letters]

    @activity.defn(name=REPLAY_ACTIVITY)
    async def replay_letters(self, offsets: list[int]) -> list[int]:
        """Puts the chosen letters back on their source partitions; returns their offsets."""

        def work() -> list[int]:
            chosen = choose(self._letters(), offsets)
            try:
                replay(Cluster.open(self._kafka.bootstrap, self._kafka.prefix), chosen)
            except KafkaToolError as err:
                raise ApplicationError(str(err), type="KafkaUnavailable") from None
            return [letter.offset for letter in chosen]

        return await asyncio.to_thread(work)
