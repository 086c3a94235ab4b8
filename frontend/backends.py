"""What the frontend needs from the rest of Strom, as Protocols the processes implement."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from google.protobuf.message import Message
from temporalio.api.workflowservice.v1 import (
    CountWorkflowExecutionsResponse,
    ListWorkflowExecutionsResponse,
    PollActivityTaskQueueRequest,
    PollActivityTaskQueueResponse,
    PollWorkflowTaskQueueRequest,
    PollWorkflowTaskQueueResponse,
)

from frontend.namespaces import Namespace


class InvalidQueryError(Exception):
    """A list filter the visibility store cannot run; its message goes to the client."""


class ReplyLike(Protocol):
    """The history process's answer to one command (schemas ``strom.v1.Reply``)."""

    @property
    def status_code(self) -> int:
        """gRPC status code, 0 = OK."""
        ...

    @property
    def message(self) -> str:
        """Status message when not OK."""
        ...

    @property
    def payload(self) -> bytes:
        """Serialized Temporal response proto when OK."""
        ...

    @property
    def details(self) -> bytes:
        """Serialized error-detail proto, e.g. WorkflowExecutionAlreadyStartedFailure."""
        ...

    @property
    def details_type(self) -> str:
        """Full proto name of ``details``; empty when there is none."""
        ...


@dataclass(frozen=True)
class Reply:
    """A concrete ReplyLike (see there for the fields)."""

    status_code: int
    message: str = ""
    payload: bytes = b""
    details: bytes = b""
    details_type: str = ""


class HistoryBackend(Protocol):
    """Sends commands to the history process owning a workflow's shard."""

    async def call(
        self, namespace: str, workflow_id: str, kind: str, request: Message, timeout: float
    ) -> ReplyLike:
        """Sends ``request`` as an inbox command of ``kind`` and awaits the reply.

        Args:
            namespace: Namespace name (half of the shard key).
            workflow_id: Workflow id (the other half).
            kind: Inbox kind, the Temporal RPC name (e.g. "StartWorkflowExecution").
            request: The Temporal request proto, forwarded as the command payload.
            timeout: Seconds to wait for the reply.

        Returns:
            The reply; application errors come back as a non-OK reply, never raised.

        Raises:
            TimeoutError: No reply within ``timeout`` (the frontend answers UNAVAILABLE).
        """
        ...


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


class VisibilityBackend(Protocol):
    """Answers list and count queries from the visibility store."""

    async def list(
        self, namespace: str, query: str, page_size: int, next_page_token: bytes
    ) -> ListWorkflowExecutionsResponse:
        """One page of executions matching ``query`` (Temporal's list filter).

        Raises:
            InvalidQueryError: The query is malformed or names unknown attributes.
        """
        ...

    async def count(self, namespace: str, query: str) -> CountWorkflowExecutionsResponse:
        """How many executions match ``query``.

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
