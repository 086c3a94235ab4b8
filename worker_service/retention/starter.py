"""Starts the retention workflow of each namespace and the reclaim workflow of each deleted one.

Both starts are idempotent (the id's running run is used when there is one), so the worker
service repeats them, each at most every ``RECHECK_S``: a terminated retention workflow comes
back, and a deleted namespace is reclaimed even if it was deleted while no worker ran.
"""

from __future__ import annotations

import argparse
import logging
import os
from dataclasses import dataclass
from datetime import timedelta

from temporalio.api.enums.v1 import NamespaceState
from temporalio.api.namespace.v1 import NamespaceFilter
from temporalio.api.workflowservice.v1 import ListNamespacesRequest
from temporalio.client import Client
from temporalio.common import (
    SearchAttributeKey,
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)

from schemas import retention
from schemas.retention import ReclaimArgs, RetentionArgs
from schemas.schedules import names

_log = logging.getLogger(__name__)

_RPC_TIMEOUT = timedelta(seconds=10)
"""A start that takes longer is tried again at the next refresh; the namespace list waits."""
RECHECK_S = 300.0
"""How long a started system workflow is trusted to run before its start is repeated."""

_DIVISION = TypedSearchAttributes(
    [
        SearchAttributePair(
            SearchAttributeKey.for_keyword(names.NAMESPACE_DIVISION_ATTRIBUTE),
            retention.NAMESPACE_DIVISION,
        )
    ]
)


@dataclass(frozen=True)
class RetentionSettings:
    """How retention and reclaim run (the worker service's command line).

    Attributes:
        scan_interval_s: Pause between retention scans that found nothing more to delete.
        batch_size: Runs listed and deleted per activity.
        deletes_per_second: DeleteWorkflowExecution calls per second per namespace.
    """

    scan_interval_s: float = retention.DEFAULT_SCAN_INTERVAL_S
    batch_size: int = retention.DEFAULT_BATCH_SIZE
    deletes_per_second: float = retention.DEFAULT_DELETES_PER_SECOND


def add_retention_arguments(parser: argparse.ArgumentParser) -> None:
    """The worker service's flags of retention and namespace reclaim."""
    group = parser.add_argument_group("retention", "deleting closed runs after retention")
    group.add_argument(
        "--retention-scan-interval",
        default=os.environ.get(retention.SCAN_INTERVAL_ENV, ""),
        metavar="DURATION",
        help="how often each namespace looks for runs past its retention, e.g. 30s, 5m "
        f"(default: ${retention.SCAN_INTERVAL_ENV}, else {retention.DEFAULT_SCAN_INTERVAL_S:g}s)",
    )
    group.add_argument(
        "--retention-batch-size",
        type=int,
        default=retention.DEFAULT_BATCH_SIZE,
        help=f"runs deleted per activity (default: {retention.DEFAULT_BATCH_SIZE})",
    )
    group.add_argument(
        "--retention-deletes-per-second",
        type=float,
        default=retention.DEFAULT_DELETES_PER_SECOND,
        help="deletes per second per namespace, for retention and for a deleted namespace's "
        f"runs (default: {retention.DEFAULT_DELETES_PER_SECOND:g})",
    )


def retention_settings(args: argparse.Namespace) -> RetentionSettings:
    """The retention settings of the command line.

    Raises:
        SystemExit: A value is out of range.
    """
    interval_s = retention.DEFAULT_SCAN_INTERVAL_S
    if args.retention_scan_interval:
        try:
            interval_s = retention.parse_duration_ms(args.retention_scan_interval) / 1000
        except ValueError as err:
            raise SystemExit(f"worker_service: --retention-scan-interval: {err}") from None
    if args.retention_batch_size <= 0:
        raise SystemExit("worker_service: --retention-batch-size must be positive")
    if not 0 < args.retention_deletes_per_second < float("inf"):
        raise SystemExit("worker_service: --retention-deletes-per-second must be positive")
    return RetentionSettings(
        scan_interval_s=interval_s,
        batch_size=args.retention_batch_size,
        deletes_per_second=args.retention_deletes_per_second,
    )


async def deleted_namespaces(client: Client) -> dict[str, str]:
    """The deleted namespaces whose records are still there: renamed name -> id."""
    found: dict[str, str] = {}
    token = b""
    while True:
        page = await client.workflow_service.list_namespaces(
            ListNamespacesRequest(
                page_size=100,
                next_page_token=token,
                namespace_filter=NamespaceFilter(include_deleted=True),
            ),
            timeout=_RPC_TIMEOUT,
        )
        for ns in page.namespaces:
            if ns.namespace_info.state == NamespaceState.NAMESPACE_STATE_DELETED:
                found[ns.namespace_info.name] = ns.namespace_info.id
        token = page.next_page_token
        if not token:
            return found


async def ensure_retention(client: Client, namespace: str, settings: RetentionSettings) -> None:
    """Starts the namespace's retention workflow unless it runs."""
    ns_client = Client(
        client.service_client, namespace=namespace, data_converter=client.data_converter
    )
    await ns_client.start_workflow(
        retention.RETENTION_WORKFLOW_TYPE,
        RetentionArgs(
            namespace=namespace,
            scan_interval_s=settings.scan_interval_s,
            batch_size=settings.batch_size,
            deletes_per_second=settings.deletes_per_second,
        ),
        id=retention.RETENTION_WORKFLOW_ID,
        task_queue=names.TASK_QUEUE,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        search_attributes=_DIVISION,
        rpc_timeout=_RPC_TIMEOUT,
    )


async def ensure_reclaim(
    client: Client, deleted_name: str, namespace_id: str, settings: RetentionSettings
) -> None:
    """Starts the reclaim workflow of a deleted namespace (in the system namespace)."""
    system = Client(
        client.service_client,
        namespace=retention.SYSTEM_NAMESPACE,
        data_converter=client.data_converter,
    )
    await system.start_workflow(
        retention.RECLAIM_WORKFLOW_TYPE,
        ReclaimArgs(
            namespace=deleted_name,
            namespace_id=namespace_id,
            batch_size=settings.batch_size,
            deletes_per_second=settings.deletes_per_second,
        ),
        id=retention.reclaim_workflow_id(deleted_name),
        task_queue=names.TASK_QUEUE,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        search_attributes=_DIVISION,
        rpc_timeout=_RPC_TIMEOUT,
    )


async def ensure_all(
    client: Client,
    namespaces: set[str],
    settings: RetentionSettings,
    ensured: dict[str, float] | None = None,
    now: float = 0.0,
) -> None:
    """Retention for every namespace given, reclaim for every deleted one; failures logged.

    Args:
        client: A client of the frontend.
        namespaces: The registered namespaces.
        settings: How retention and reclaim run.
        ensured: When each workflow was last started (by workflow key), updated here; a
            workflow started less than ``RECHECK_S`` before ``now`` is skipped.
        now: The current ``time.monotonic()``.
    """
    ensured = {} if ensured is None else ensured

    def due(key: str) -> bool:
        last = ensured.get(key)
        return last is None or now - last >= RECHECK_S

    # A namespace that went (and may come back under the same name) is started afresh.
    for key in [k for k in ensured if k.startswith("retention/")]:
        if key.removeprefix("retention/") not in namespaces:
            del ensured[key]
    for name in sorted(namespaces):
        if not due(f"retention/{name}"):
            continue
        try:
            await ensure_retention(client, name, settings)
            ensured[f"retention/{name}"] = now
        except Exception as err:
            _log.warning("cannot start the retention workflow of %s: %s", name, err)
    if retention.SYSTEM_NAMESPACE not in namespaces:
        return  # reclaim workflows run in the system namespace; it is not there (yet)
    try:
        deleted = await deleted_namespaces(client)
    except Exception as err:
        _log.warning("cannot list deleted namespaces: %s", err)
        return
    for name, namespace_id in sorted(deleted.items()):
        if not due(f"reclaim/{name}"):
            continue
        try:
            await ensure_reclaim(client, name, namespace_id, settings)
            ensured[f"reclaim/{name}"] = now
        except Exception as err:
            _log.warning("cannot start the reclaim workflow of %s: %s", name, err)
