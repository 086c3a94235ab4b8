"""The retention workflow of a namespace and the reclaim workflow of a deleted one.

Retention: one long-lived run per namespace (``temporal-sys-retention``) scans visibility for
runs closed longer ago than the namespace's retention and deletes them in rate-limited pages;
it sleeps ``scan_interval_s`` when a page was not full and continues as new every
``SCANS_PER_RUN`` scans. Reclaim (Temporal's ``ReclaimResourcesWorkflow``): deletes every run of
a deleted namespace, page by page, then has the frontend drop the namespace record.

Why a scan of visibility rather than Temporal's timer per closed run (DeleteHistoryEventTask):
the history processor would keep one more durable timer per closed run, and a retention
changed by UpdateNamespace would leave every timer set by the old one; the scan reads the
namespace's retention afresh each time and costs one indexed query (CloseTime) per namespace
per interval, and every deletion goes through DeleteWorkflowExecution, the one deletion path.
The price: a run is deleted up to one scan interval late, and a run whose visibility document
Elasticsearch refused (see the dead-letter topic) is not found until it is indexed.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy

from schemas import retention
from schemas.retention import BatchResult, ReclaimArgs, RetentionArgs

SCANS_PER_RUN = 100
"""Activity rounds per run before continue-as-new keeps the history short."""
_ACTIVITY_TIMEOUT = timedelta(minutes=10)
_HEARTBEAT_TIMEOUT = timedelta(seconds=60)
_RETRY = RetryPolicy(maximum_interval=timedelta(seconds=60))


async def _activity(name: str, arg: object, result_type: type, summary: str) -> Any:
    return await workflow.execute_activity(
        name,
        arg,
        result_type=result_type,
        start_to_close_timeout=_ACTIVITY_TIMEOUT,
        heartbeat_timeout=_HEARTBEAT_TIMEOUT,
        retry_policy=_RETRY,
        summary=summary,
    )


# Not sandboxed: the module is Strom's own deterministic code (time comes from ``workflow``).
@workflow.defn(name=retention.RETENTION_WORKFLOW_TYPE, sandboxed=False)
class RetentionWorkflow:
    """Deletes a namespace's closed runs once its retention has passed, for ever."""

    @workflow.run
    async def run(self, args: RetentionArgs) -> None:
        """Scans until terminated; continues as new after ``SCANS_PER_RUN`` rounds."""
        for _ in range(SCANS_PER_RUN):
            result: BatchResult = await _activity(
                retention.ACTIVITY_DELETE_EXPIRED, args, BatchResult, "delete expired runs"
            )
            if result.more and result.deleted:
                continue  # a full page: go on at once, the activity itself is rate-limited
            await asyncio.sleep(args.scan_interval_s)
        workflow.continue_as_new(args)


@workflow.defn(name=retention.RECLAIM_WORKFLOW_TYPE, sandboxed=False)
class ReclaimNamespaceWorkflow:
    """Deletes every run of a deleted namespace, then its record."""

    @workflow.run
    async def run(self, args: ReclaimArgs) -> int:
        """Returns how many runs it deleted."""
        deleted = 0
        for _ in range(SCANS_PER_RUN):
            result: BatchResult = await _activity(
                retention.ACTIVITY_DELETE_ALL, args, BatchResult, "delete the namespace's runs"
            )
            deleted += result.deleted
            if result.listed:
                if not result.deleted:
                    # Listed but already gone: the index has not caught up with the deletes yet.
                    await asyncio.sleep(args.settle_s)
                continue
            # Nothing listed: let the indexer catch up with the last deletes (and with runs
            # started just before the namespace was deleted), then ask for the record's removal.
            await asyncio.sleep(args.settle_s)
            removed: bool = await _activity(
                retention.ACTIVITY_REMOVE_NAMESPACE, args, bool, "remove the namespace record"
            )
            if removed:
                return deleted
        workflow.continue_as_new(args)
