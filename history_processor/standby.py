"""Standby mode: what a cluster's history does for a global namespace active elsewhere.

The replicator (`replicator/`) brings the active cluster's batches as ReplicateEvents
commands; history folds them and answers reads. Everything else would make this cluster
decide for the namespace, so it is refused with Temporal's NamespaceNotActive, and the
namespace's durable timers are not fired here (they stay in the timer index, so the cluster
that takes over after a failover finds them). A replicated batch history refuses (a gap, an
older failover version) is counted and dead-lettered (`refused_batch`).
"""

from __future__ import annotations

from prometheus_client import Counter
from temporalio.api.errordetails.v1 import NamespaceNotActiveFailure

from history_processor.handlers import replicate_events
from history_processor.model import Command
from schemas.inbox import REPLICATE_EVENTS, ReplicateEvents
from schemas.reply import Code, Reply
from streams.metrics import SCHEMA

REFUSED_BATCHES = Counter(
    "replication_dlq_enqueue_requests",
    "Replicated batches history refused and dead-lettered (Temporal's counter of replication "
    "tasks put on its replication DLQ), by source cluster and reason.",
    ("source_cluster", "reason"),
)
SCHEMA["replication_dlq_enqueue_requests"] = ("counter", ("source_cluster", "reason"))

READ_KINDS = frozenset(
    {
        "GetWorkflowExecutionHistory",
        "GetWorkflowExecutionHistoryReverse",
        "DescribeWorkflowExecution",
        REPLICATE_EVENTS,
    }
)
"""The commands a standby namespace's history serves: reads, and the replicated batches."""


def refusal(kind: str, namespace: str, active: str, current: str) -> Reply | None:
    """NamespaceNotActive for a command that would decide for a standby namespace, else None.

    Args:
        kind: The inbox command kind.
        namespace: Its namespace.
        active: Where the namespace is active ("" when here).
        current: This cluster's name.
    """
    if not active or kind in READ_KINDS:
        return None
    message = (
        f"Namespace: {namespace} is active in cluster: {active}, while current cluster "
        f"{current} is a standby cluster."
    )
    failure = NamespaceNotActiveFailure(
        namespace=namespace, current_cluster=current, active_cluster=active
    )
    return Reply.error(Code.FAILED_PRECONDITION, message, failure)


def refused_batch(command: Command, reply: Reply) -> str:
    """Counts a replicated batch history refused; returns the dead letter's error text.

    The dead letter is the ReplicateEvents inbox record itself: put back on the inbox (`strom
    dlq`) once what it lacked has arrived, it is folded then.
    """
    message: ReplicateEvents = command.payload
    why = reply.message
    REFUSED_BATCHES.labels(message.source_cluster, replicate_events.reason(why)).inc()
    return f"replicated batch {command.command_id} refused: {why}"
