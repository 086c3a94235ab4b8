"""Retention and namespace reclaim: the system workflows' names, inputs and visibility queries.

Shared by the worker service (which runs the workflows) and the frontend (which knows the
system namespace and the minimum retention). Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from schemas.namespaces import Namespace, State, deleted_name
from schemas.visibility.timefmt import format_millis

SYSTEM_NAMESPACE = "temporal-system"
"""Temporal's system namespace: the namespace-reclaim workflows run there."""

MIN_RETENTION_ENV = "STROM_NAMESPACE_MIN_RETENTION"
"""Environment variable holding the default of the frontend's ``--namespace-min-retention``
(Temporal's dynamic config ``system.namespaceMinRetentionLocal``)."""
DEFAULT_MIN_RETENTION_MS = 3600 * 1000
"""Temporal's ``system.namespaceMinRetentionLocal`` default: one hour (``MinRetentionLocal``;
the one-day minimum is ``MinRetentionGlobal``, for global namespaces, which Strom has not)."""

SCAN_INTERVAL_ENV = "STROM_RETENTION_SCAN_INTERVAL"
"""Environment variable holding the default of the worker's ``--retention-scan-interval``."""
DEFAULT_SCAN_INTERVAL_S = 300.0
"""How often a namespace's retention workflow looks for expired runs by default."""
DEFAULT_BATCH_SIZE = 100
"""Runs listed and deleted per activity."""
DEFAULT_DELETES_PER_SECOND = 50.0
"""Deletes per second one namespace's retention (or reclaim) sends (Temporal's
``worker.deleteNamespaceActivityLimitsConfig`` RPS default is 100 for the whole cluster)."""

RETENTION_WORKFLOW_ID = "temporal-sys-retention"
"""The one retention workflow of each namespace."""
RETENTION_WORKFLOW_TYPE = "temporal-sys-retention-workflow"
RECLAIM_WORKFLOW_TYPE = "temporal-sys-reclaim-namespace-resources-workflow"
NAMESPACE_DIVISION = "TemporalRetention"
"""TemporalNamespaceDivision of the retention and reclaim workflows: hides them from lists."""

ACTIVITY_DELETE_EXPIRED = "temporal-sys-retention-delete-expired"
ACTIVITY_DELETE_ALL = "temporal-sys-reclaim-delete-executions"
ACTIVITY_REMOVE_NAMESPACE = "temporal-sys-reclaim-remove-namespace"

_ANY_DIVISION = "(TemporalNamespaceDivision IS NULL OR TemporalNamespaceDivision IS NOT NULL)"
"""Naming the division lifts the rule that hides system workflows from a list: retention
and reclaim must see the closed runs of schedules too."""


@dataclass
class RetentionArgs:
    """Input of a namespace's retention workflow.

    Attributes:
        namespace: The namespace whose closed runs are deleted after its retention.
        scan_interval_s: Pause between scans when the last one found nothing more.
        batch_size: Runs listed and deleted per activity.
        deletes_per_second: Rate of DeleteWorkflowExecution calls.
    """

    namespace: str
    scan_interval_s: float = DEFAULT_SCAN_INTERVAL_S
    batch_size: int = DEFAULT_BATCH_SIZE
    deletes_per_second: float = DEFAULT_DELETES_PER_SECOND


@dataclass
class ReclaimArgs:
    """Input of a deleted namespace's reclaim workflow.

    Attributes:
        namespace: The deleted namespace's (renamed) name.
        namespace_id: Its id.
        batch_size: Runs listed and deleted per activity.
        deletes_per_second: Rate of DeleteWorkflowExecution calls.
        settle_s: Wait before the final check that no run is left (the indexer's lag).
    """

    namespace: str
    namespace_id: str
    batch_size: int = DEFAULT_BATCH_SIZE
    deletes_per_second: float = DEFAULT_DELETES_PER_SECOND
    settle_s: float = 2.0


@dataclass
class BatchResult:
    """What one delete activity did.

    Attributes:
        deleted: Runs deleted.
        listed: Runs the list returned (some may have gone in between).
        more: The page was full: more runs may be waiting.
    """

    deleted: int
    listed: int
    more: bool


def reclaim_workflow_id(deleted_name: str) -> str:
    """The reclaim workflow's id for a deleted namespace, Temporal's ``<type>/<deleted name>``."""
    return f"{RECLAIM_WORKFLOW_TYPE}/{deleted_name}"


def expired_query(now_ms: int, retention_ms: int) -> str:
    """The list filter of runs closed longer ago than the retention, system ones included.

    Args:
        now_ms: The current time, epoch milliseconds.
        retention_ms: The namespace's retention.
    """
    cutoff = format_millis(now_ms - retention_ms)
    return f"ExecutionStatus != 'Running' AND CloseTime < '{cutoff}' AND {_ANY_DIVISION}"


def all_runs_query() -> str:
    """The list filter of every run of a namespace, running and system ones included."""
    return _ANY_DIVISION


def parse_duration_ms(text: str) -> int:
    """A duration as an operator writes it: ``90s``, ``10m``, ``1h``, ``1d``, or seconds.

    Raises:
        ValueError: Not a positive duration.
    """
    units = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
    value = text.strip().lower()
    for suffix in ("ms", "s", "m", "h", "d"):
        if value.endswith(suffix) and value[: -len(suffix)].strip():
            number, scale = value[: -len(suffix)], units[suffix]
            break
    else:
        number, scale = value, 1000
    try:
        millis = float(number) * scale
    except ValueError:
        raise ValueError(f"not a duration: {text!r} (e.g. 90s, 10m, 1h, 1d)") from None
    if not 0 < millis < float("inf"):
        raise ValueError(f"not a positive duration: {text!r}")
    return round(millis)


def history_name(namespace: Namespace) -> str:
    """The name a namespace's runs are stored under: a deleted namespace's name before its
    rename (``<name>-deleted-<id[:5]>``), for every other namespace its name."""
    if namespace.state is not State.DELETED:
        return namespace.name
    suffix = deleted_name(replace(namespace, name=""))
    if namespace.name.endswith(suffix) and len(namespace.name) > len(suffix):
        return namespace.name[: -len(suffix)]
    return namespace.name
