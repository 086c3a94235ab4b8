"""The dead-letter workflow (``temporal-sys-dlq-workflow``): one run lists or replays.

Started by an operator on the per-namespace system queue, e.g.
``temporal workflow execute --type temporal-sys-dlq-workflow --task-queue
temporal-sys-per-ns-tq --input '{"action": "replay", "offsets": [3]}'``. Dead letters belong
to the cluster, not to a namespace, so every namespace's worker serves it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

from worker_service.deadletters.activities import LIST_ACTIVITY, REPLAY_ACTIVITY

WORKFLOW_TYPE = "temporal-sys-dlq-workflow"
ACTIONS = ("list", "replay")
_TIMEOUT = timedelta(minutes=2)
_RETRY = RetryPolicy(maximum_attempts=5)


@dataclass
class DeadLetterRequest:
    """What to do.

    Attributes:
        action: ``list`` or ``replay``.
        offsets: For ``replay``: the dead-letter offsets to put back; empty means every
            replayable one.
    """

    action: str = "list"
    offsets: list[int] = field(default_factory=list)


@dataclass
class DeadLetterResult:
    """What was found and what was replayed.

    Attributes:
        letters: The dead letters (``strom dlq list --json``'s shape) before any replay.
        replayed: Offsets of the letters put back on their source topics.
    """

    letters: list[dict[str, Any]] = field(default_factory=list)
    replayed: list[int] = field(default_factory=list)


@workflow.defn(name=WORKFLOW_TYPE, sandboxed=False)
class DeadLettersWorkflow:
    """Lists the cluster's dead letters, and replays them when asked."""

    @workflow.run
    async def run(self, request: DeadLetterRequest) -> DeadLetterResult:
        """The dead letters, and the offsets replayed."""
        if request.action not in ACTIONS:
            raise ApplicationError(
                f"unknown action {request.action!r}: use one of {', '.join(ACTIONS)}",
                type="InvalidArgument",
                non_retryable=True,
            )
        letters: list[dict[str, Any]] = await workflow.execute_activity(
            LIST_ACTIVITY, start_to_close_timeout=_TIMEOUT, retry_policy=_RETRY
        )
        result = DeadLetterResult(letters=letters)
        if request.action == "replay":
            result.replayed = await workflow.execute_activity(
                REPLAY_ACTIVITY,
                request.offsets,
                result_type=list[int],
                start_to_close_timeout=_TIMEOUT,
                # Once only: a retry after a replay that got through would put it back twice.
                retry_policy=RetryPolicy(maximum_attempts=1),
            )
        return result
