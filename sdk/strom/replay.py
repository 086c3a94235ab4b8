"""Replay workflow histories read from Strom's Kafka through the official SDK's Replayer.

Before deploying a change to a workflow, replay what ran with the old code against the new
classes: a `NONDETERMINISM` result means the new code would break those workflows::

    results = await replay_from_kafka("127.0.0.1:19092", [MyWorkflow], ["order-42"])
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]

`history_from_kafka` returns one history as a `temporalio.client.WorkflowHistory`,
`closed_histories_from_kafka` every closed run of a namespace. They read the cluster's events
topic directly: no Strom service needs to run, only Kafka.
"""

from __future__ import annotations

import asyncio
import enum
import re
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass

from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.runtime import Runtime
from temporalio.worker import Replayer

from schemas.topics import DEFAULT_PREFIX
from strom._history_reader import closed_runs, read_history
from strom._kafka_tools import (
    DEFAULT_TIMEOUT_S,
    BrokerUnreachableError,
    Cluster,
    ClusterNotFoundError,
    HistoryNotFoundError,
    KafkaToolError,
)

__all__ = [
    "BrokerUnreachableError",
    "ClusterNotFoundError",
    "HistoryNotFoundError",
    "KafkaToolError",
    "ReplayResult",
    "ReplayStatus",
    "closed_histories_from_kafka",
    "history_from_kafka",
    "replay_from_kafka",
    "replay_histories",
]


class ReplayStatus(enum.Enum):
    """How a replay ended."""

    OK = "OK"
    NONDETERMINISM = "NONDETERMINISM"
    FAILED = "FAILED"  # any other workflow-task failure, e.g. an unregistered workflow type


@dataclass(frozen=True)
class ReplayResult:
    """The outcome of replaying one run."""

    workflow_id: str
    run_id: str
    status: ReplayStatus
    error: Exception | None = None

    @property
    def ok(self) -> bool:
        """Whether the run replayed without a failure."""
        return self.status is ReplayStatus.OK

    @property
    def message(self) -> str:
        """The failure's message on one line ("" when the replay passed).

        The SDK wraps the workflow task's failure in the core's debug rendering
        (``Failure { failure: Some(Failure { message: "..." ...``); the inner message is what
        tells a person what broke.
        """
        if self.error is None:
            return ""
        text = str(self.error)
        inner = _CORE_MESSAGE.search(text)
        if inner is not None:
            text = _ESCAPE.sub(lambda m: _UNESCAPED.get(m.group(1), m.group(1)), inner.group(1))
        return " ".join(text.split())


_CORE_MESSAGE = re.compile(r'message: "((?:[^"\\]|\\.)*)"')
_ESCAPE = re.compile(r"\\(.)")
_UNESCAPED = {"n": "\n", "t": "\t"}


async def history_from_kafka(
    bootstrap: str,
    workflow_id: str,
    *,
    run_id: str | None = None,
    namespace: str = "default",
    prefix: str = DEFAULT_PREFIX,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> WorkflowHistory:
    """Reads a workflow's history from the cluster's events topic.

    Args:
        bootstrap: Kafka bootstrap servers.
        workflow_id: The workflow id.
        run_id: The run; by default the run with the latest transition.
        namespace: The workflow's namespace.
        prefix: The cluster name (topic prefix).
        timeout: Seconds to wait for Kafka before giving up.

    Raises:
        BrokerUnreachableError: No broker answered.
        ClusterNotFoundError: The broker holds no cluster with this prefix.
        HistoryNotFoundError: The events topic holds no such workflow or run.
    """
    [history] = await asyncio.to_thread(
        _read_latest, bootstrap, prefix, timeout, namespace, [workflow_id], run_id
    )
    return history


def _read_latest(
    bootstrap: str,
    prefix: str,
    timeout: float,
    namespace: str,
    workflow_ids: Iterable[str],
    run_id: str | None = None,
) -> list[WorkflowHistory]:
    cluster = Cluster.open(bootstrap, prefix, timeout)
    return [
        read_history(cluster, namespace, wid, run_id).to_workflow_history() for wid in workflow_ids
    ]


async def replay_from_kafka(
    bootstrap: str,
    workflows: Sequence[type],
    workflow_ids: Iterable[str],
    *,
    namespace: str = "default",
    prefix: str = DEFAULT_PREFIX,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> list[ReplayResult]:
    """Replays the latest run of each workflow id against `workflows`.

    Args:
        bootstrap: Kafka bootstrap servers.
        workflows: The workflow classes (``@workflow.defn``) to replay with.
        workflow_ids: The workflows whose histories to replay.
        namespace: Their namespace.
        prefix: The cluster name (topic prefix).
        timeout: Seconds to wait for Kafka before giving up.

    Returns:
        One result per workflow id, in order.

    Raises:
        BrokerUnreachableError: No broker answered.
        ClusterNotFoundError: The broker holds no cluster with this prefix.
        HistoryNotFoundError: A workflow id has no history in the events topic.
    """
    histories = await asyncio.to_thread(
        _read_latest, bootstrap, prefix, timeout, namespace, list(workflow_ids)
    )
    return await replay_histories(workflows, histories)


async def replay_histories(
    workflows: Sequence[type],
    histories: Iterable[WorkflowHistory],
    *,
    runtime: Runtime | None = None,
) -> list[ReplayResult]:
    """Replays histories (from Kafka or elsewhere) against `workflows`, one result each.

    Args:
        workflows: The workflow classes to replay with.
        histories: The histories.
        runtime: The SDK runtime for the Replayer (its logging, say); the default one if None.
    """
    listed = list(histories)

    async def each() -> AsyncIterator[WorkflowHistory]:
        for history in listed:
            yield history

    replayer = Replayer(workflows=list(workflows), runtime=runtime)
    results = []
    async with replayer.workflow_replay_iterator(each()) as replayed:
        async for outcome in replayed:
            history = outcome.history
            results.append(
                ReplayResult(
                    history.workflow_id, history.run_id, _status(outcome.replay_failure),
                    outcome.replay_failure,
                )
            )  # fmt: skip
    return results


def _status(failure: Exception | None) -> ReplayStatus:
    if failure is None:
        return ReplayStatus.OK
    if isinstance(failure, workflow.NondeterminismError):
        return ReplayStatus.NONDETERMINISM
    return ReplayStatus.FAILED


async def closed_histories_from_kafka(
    bootstrap: str,
    *,
    namespace: str = "default",
    prefix: str = DEFAULT_PREFIX,
    workflow_types: Iterable[str] | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> list[WorkflowHistory]:
    """Every closed run of a namespace, read from Kafka (it scans every shard).

    Args:
        bootstrap: Kafka bootstrap servers.
        namespace: The namespace.
        prefix: The cluster name (topic prefix).
        workflow_types: Only runs of these workflow types; all of them if None.
        timeout: Seconds to wait for Kafka before giving up.

    Raises:
        BrokerUnreachableError: No broker answered.
        ClusterNotFoundError: The broker holds no cluster with this prefix.
    """
    types = None if workflow_types is None else set(workflow_types)
    return await asyncio.to_thread(_read_closed, bootstrap, prefix, timeout, namespace, types)


def _read_closed(
    bootstrap: str, prefix: str, timeout: float, namespace: str, types: set[str] | None
) -> list[WorkflowHistory]:
    cluster = Cluster.open(bootstrap, prefix, timeout)
    return [
        run.to_workflow_history()
        for run in closed_runs(cluster, namespace)
        if types is None or run.workflow_type in types
    ]
