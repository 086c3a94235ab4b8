"""What the frontend needs from the rest of Strom, as Protocols the processes implement."""

from __future__ import annotations

from typing import Protocol

from temporalio.api.workflowservice.v1 import (
    CountWorkflowExecutionsResponse,
    DescribeTaskQueueRequest,
    DescribeTaskQueueResponse,
    ListWorkflowExecutionsResponse,
    PollActivityTaskQueueRequest,
    PollActivityTaskQueueResponse,
    PollWorkflowTaskQueueRequest,
    PollWorkflowTaskQueueResponse,
    ShutdownWorkerRequest,
)

from schemas.clients.history import HistoryCaller
from schemas.namespaces import Namespace
from schemas.queries import QueryTaskCompleted, QueryTaskRequest
from schemas.reply import Reply

__all__ = [
    "HistoryCaller",
    "InvalidQueryError",
    "MatchingBackend",
    "NamespaceRegistry",
    "VisibilityBackend",
]


class InvalidQueryError(Exception):
    """A list filter the visibility store cannot run; its message goes to the client."""


class MatchingBackend(Protocol):
    """Long-polls the matching process owning a task-queue partition.

    Contract: when no task arrives, a poll must return an empty response at ``deadline``
    (a ``time.monotonic()`` instant) at the latest; a cancelled poll must not consume a
    task.
    """

    async def poll_workflow_task(
        self, request: PollWorkflowTaskQueueRequest, deadline: float
    ) -> PollWorkflowTaskQueueResponse:
        """Waits for a workflow task of ``request.task_queue``."""
        ...

    async def poll_activity_task(
        self, request: PollActivityTaskQueueRequest, deadline: float
    ) -> PollActivityTaskQueueResponse:
        """Waits for an activity task of ``request.task_queue``."""
        ...

    async def query_workflow(self, request: QueryTaskRequest, deadline: float) -> Reply:
        """Hands a query to a poller of ``request.task_queue`` and awaits the answer
        (DEADLINE_EXCEEDED at ``deadline``)."""
        ...

    async def respond_query_task_completed(
        self, address: str, message: QueryTaskCompleted, timeout: float
    ) -> Reply:
        """Delivers a worker's query answer to the matching process at ``address``."""

    async def describe_task_queue(
        self, request: DescribeTaskQueueRequest, deadline: float
    ) -> DescribeTaskQueueResponse:
        """Pollers and backlog of a task-queue partition (a validated request)."""
        ...

    async def shutdown_worker(self, request: ShutdownWorkerRequest, deadline: float) -> None:
        """Unloads the worker's sticky queue: its waiting polls answer empty at once."""
        ...


class VisibilityBackend(Protocol):
    """Answers list and count queries from the visibility store."""

    async def list(
        self,
        namespace: str,
        query: str,
        page_size: int,
        next_page_token: bytes,
        *,
        namespace_id: str | None = None,
    ) -> ListWorkflowExecutionsResponse:
        """One page of executions matching ``query`` (Temporal's list filter); scoped by
        ``namespace_id`` instead of the name when given (a deleted, renamed namespace).

        Raises:
            InvalidQueryError: The query is malformed or names unknown attributes.
        """
        ...

    async def count(
        self, namespace: str, query: str, *, namespace_id: str | None = None
    ) -> CountWorkflowExecutionsResponse:
        """How many executions match ``query`` (scoped as ``list`` is).

        Raises:
            InvalidQueryError: The query is malformed or names unknown attributes.
        """
        ...


class NamespaceRegistry(Protocol):
    """In-memory view of the cluster's namespaces; lookups never block."""

    def get(self, name: str) -> Namespace | None:
        """The namespace of that name, if any."""
        ...

    def get_by_id(self, namespace_id: str) -> Namespace | None:
        """The namespace of that id, if any."""
        ...

    def list(self) -> list[Namespace]:
        """All namespaces, sorted by name."""
        ...

    def register(self, namespace: Namespace) -> object:
        """Writes a namespace (its version bumped); blocks until this registry shows it."""
        ...

    def unregister(self, name: str) -> None:
        """Removes a namespace name (a tombstone); blocks until this registry shows it."""
        ...
