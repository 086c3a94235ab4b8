"""Activities of retention and reclaim: list runs through the frontend, delete them one by one.

Every deletion goes through the frontend's DeleteWorkflowExecution, so the history processor's
one deletion path (delete marker, tombstones, visibility document removed) does the work.
When the namespace archives, a run's history and visibility record are archived first; a run
whose archiving fails is not deleted (the activity fails and is retried).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from temporalio import activity
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import ArchivalState
from temporalio.api.history.v1 import History
from temporalio.api.operatorservice.v1 import DeleteNamespaceRequest
from temporalio.api.workflow.v1 import WorkflowExecutionInfo
from temporalio.api.workflowservice.v1 import (
    DeleteWorkflowExecutionRequest,
    DescribeNamespaceRequest,
    DescribeNamespaceResponse,
    GetWorkflowExecutionHistoryRequest,
    ListWorkflowExecutionsRequest,
)
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from schemas import archival, retention
from schemas.retention import BatchResult, ReclaimArgs, RetentionArgs


@dataclass(frozen=True)
class ArchivalPlan:
    """Where a namespace archives before retention deletes (None: it does not).

    Attributes:
        namespace_id: The namespace's id, the first segment of every archive key.
        history: The store of histories, if history archival is enabled.
        visibility: The store of visibility records, if visibility archival is enabled.
    """

    namespace_id: str
    history: archival.ArchiveStore | None
    visibility: archival.ArchiveStore | None

    @classmethod
    def of(cls, described: DescribeNamespaceResponse) -> ArchivalPlan | None:
        """The plan of a described namespace.

        Raises:
            ArchivalError: Archival is enabled to a URI Strom cannot write to.
        """
        config = described.config
        enabled = ArchivalState.ARCHIVAL_STATE_ENABLED
        history = (
            archival.store_for(config.history_archival_uri)
            if config.history_archival_state == enabled
            else None
        )
        visibility = (
            archival.store_for(config.visibility_archival_uri)
            if config.visibility_archival_state == enabled
            else None
        )
        if history is None and visibility is None:
            return None
        return cls(described.namespace_info.id, history, visibility)


class RetentionActivities:
    """Activities bound to a client of the worker's frontend."""

    def __init__(self, client: Client) -> None:
        self._client = client

    @activity.defn(name=retention.ACTIVITY_DELETE_EXPIRED)
    async def delete_expired(self, args: RetentionArgs) -> BatchResult:
        """Deletes one page of the namespace's runs closed longer ago than its retention.

        The retention is read from the namespace now, so a change applies at the next scan.
        """
        described = await self._client.workflow_service.describe_namespace(
            DescribeNamespaceRequest(namespace=args.namespace)
        )
        ttl = described.config.workflow_execution_retention_ttl
        retention_ms = ttl.seconds * 1000 + ttl.nanos // 1_000_000
        query = retention.expired_query(int(time.time() * 1000), retention_ms)
        plan = ArchivalPlan.of(described)
        return await self._delete_page(
            args.namespace, query, args.batch_size, args.deletes_per_second, plan
        )

    @activity.defn(name=retention.ACTIVITY_DELETE_ALL)
    async def delete_all(self, args: ReclaimArgs) -> BatchResult:
        """Deletes one page of a deleted namespace's runs, running ones terminated first."""
        return await self._delete_page(
            args.namespace, retention.all_runs_query(), args.batch_size, args.deletes_per_second
        )

    @activity.defn(name=retention.ACTIVITY_REMOVE_NAMESPACE)
    async def remove_namespace(self, args: ReclaimArgs) -> bool:
        """Asks the frontend to drop the deleted namespace's record; True once it is gone.

        The frontend drops it only when visibility holds no run of the namespace any more;
        otherwise the record stays and the reclaim workflow deletes another round.
        """
        try:
            await self._client.operator_service.delete_namespace(
                DeleteNamespaceRequest(namespace_id=args.namespace_id)
            )
            await self._client.workflow_service.describe_namespace(
                DescribeNamespaceRequest(id=args.namespace_id)
            )
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                return True
            raise
        return False

    async def _delete_page(
        self,
        namespace: str,
        query: str,
        batch_size: int,
        deletes_per_second: float,
        plan: ArchivalPlan | None = None,
    ) -> BatchResult:
        page = await self._client.workflow_service.list_workflow_executions(
            ListWorkflowExecutionsRequest(namespace=namespace, query=query, page_size=batch_size)
        )
        interval = 1.0 / deletes_per_second if deletes_per_second > 0 else 0.0
        deleted = 0
        for info in page.executions:
            started = time.monotonic()
            if plan is not None and not await self._archive(namespace, info, plan):
                continue  # gone meanwhile: nothing to archive, nothing to delete
            if await self._delete(namespace, info.execution):
                deleted += 1
            activity.heartbeat(deleted)
            # Rate limit: the deletes of a big namespace must not crowd out its live traffic.
            await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))
        listed = len(page.executions)
        return BatchResult(deleted=deleted, listed=listed, more=listed >= batch_size)

    async def _archive(
        self, namespace: str, info: WorkflowExecutionInfo, plan: ArchivalPlan
    ) -> bool:
        """Archives the run's history and visibility record; False if the run is gone."""
        execution = info.execution
        if plan.history is not None:
            history = await self._read_history(namespace, execution)
            if history is None:
                return False
            key = archival.history_key(plan.namespace_id, execution.workflow_id, execution.run_id)
            await asyncio.to_thread(plan.history.put, key, history.SerializeToString())
        if plan.visibility is not None:
            key = archival.visibility_key(
                plan.namespace_id, info.close_time.ToNanoseconds(), execution.run_id
            )
            await asyncio.to_thread(plan.visibility.put, key, info.SerializeToString())
        return True

    async def _read_history(self, namespace: str, execution: WorkflowExecution) -> History | None:
        history = History()
        token = b""
        while True:
            try:
                page = await self._client.workflow_service.get_workflow_execution_history(
                    GetWorkflowExecutionHistoryRequest(
                        namespace=namespace,
                        execution=WorkflowExecution(
                            workflow_id=execution.workflow_id, run_id=execution.run_id
                        ),
                        next_page_token=token,
                    )
                )
            except RPCError as err:
                if err.status == RPCStatusCode.NOT_FOUND:
                    return None
                raise
            history.events.extend(page.history.events)
            token = page.next_page_token
            if not token:
                return history

    async def _delete(self, namespace: str, execution: WorkflowExecution) -> bool:
        try:
            await self._client.workflow_service.delete_workflow_execution(
                DeleteWorkflowExecutionRequest(
                    namespace=namespace,
                    workflow_execution=WorkflowExecution(
                        workflow_id=execution.workflow_id, run_id=execution.run_id
                    ),
                )
            )
        except RPCError as err:
            # Already gone: its document was still in the index (the indexer lags a moment).
            if err.status == RPCStatusCode.NOT_FOUND:
                return False
            raise
        return True
