"""In-memory stand-ins of the frontend's backends, behaving like Strom's processes would."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field

from google.protobuf.message import Message
from temporalio.api.common.v1 import WorkflowExecution, WorkflowType
from temporalio.api.enums.v1 import EventType, HistoryEventFilterType, WorkflowExecutionStatus
from temporalio.api.errordetails.v1 import NotFoundFailure, WorkflowExecutionAlreadyStartedFailure
from temporalio.api.history.v1 import (
    History,
    HistoryEvent,
    WorkflowExecutionCompletedEventAttributes,
)
from temporalio.api.taskqueue.v1 import PollerInfo
from temporalio.api.workflow.v1 import WorkflowExecutionInfo
from temporalio.api.workflowservice.v1 import (
    CountWorkflowExecutionsResponse,
    DescribeTaskQueueRequest,
    DescribeTaskQueueResponse,
    DescribeWorkflowExecutionResponse,
    GetWorkflowExecutionHistoryRequest,
    GetWorkflowExecutionHistoryResponse,
    ListWorkflowExecutionsResponse,
    PollActivityTaskQueueRequest,
    PollActivityTaskQueueResponse,
    PollWorkflowTaskQueueRequest,
    PollWorkflowTaskQueueResponse,
    ShutdownWorkerRequest,
    StartWorkflowExecutionRequest,
    StartWorkflowExecutionResponse,
)

from frontend.backends import InvalidQueryError
from schemas import tokens
from schemas.queries import QueryTaskCompleted, QueryTaskRequest
from schemas.reply import Reply

_CLOSE = HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT


def encode_token(namespace_id: str, workflow_id: str, run_id: str) -> bytes:
    """A real activity task token (schemas.tokens) for those routing fields."""
    return tokens.encode(
        tokens.TaskToken(tokens.TaskKind.ACTIVITY, namespace_id, workflow_id, run_id, 5, 1)
    )


def ok(response: Message) -> Reply:
    return Reply(status_code=0, payload=response.SerializeToString())


def error(code: int, message: str, detail: Message | None = None) -> Reply:
    if detail is None:
        return Reply(status_code=code, message=message)
    return Reply(code, message, b"", detail.SerializeToString(), detail.DESCRIPTOR.full_name)


@dataclass
class Run:
    run_id: str
    request_id: str
    workflow_type: str
    events: list[HistoryEvent] = field(default_factory=list)
    closed: bool = False


@dataclass
class SentCommand:
    namespace: str
    workflow_id: str
    kind: str
    request: Message
    timeout: float


class FakeHistory:
    """Keeps runs by (namespace, workflow id) and answers like the history processor."""

    def __init__(self) -> None:
        self.runs: dict[tuple[str, str], Run] = {}
        self.sent: list[SentCommand] = []
        self.replies: dict[str, Reply] = {}  # canned replies by kind
        self.scripts: dict[str, list[Reply | BaseException]] = {}  # one-shot replies by kind

    async def call(
        self, namespace: str, workflow_id: str, kind: str, request: Message, timeout: float
    ) -> Reply:
        self.sent.append(SentCommand(namespace, workflow_id, kind, request, timeout))
        if self.scripts.get(kind):
            outcome = self.scripts[kind].pop(0)
            if isinstance(outcome, BaseException):
                raise outcome
            return outcome
        if kind in self.replies:
            return self.replies[kind]
        run = self.runs.get((namespace, workflow_id))
        if kind == "StartWorkflowExecution":
            assert isinstance(request, StartWorkflowExecutionRequest)
            return self._start(namespace, request, run)
        if run is None:
            return error(5, f"workflow not found for ID: {workflow_id}", NotFoundFailure())
        if kind == "DescribeWorkflowExecution":
            return ok(self._describe(workflow_id, run))
        if kind == "GetWorkflowExecutionHistory":
            assert isinstance(request, GetWorkflowExecutionHistoryRequest)
            return ok(self._history(request, run))
        if kind == "TerminateWorkflowExecution":
            self.close(namespace, workflow_id)
        return ok(_empty_response(kind))

    def close(self, namespace: str, workflow_id: str) -> None:
        run = self.runs[(namespace, workflow_id)]
        event_id = len(run.events) + 1
        run.events.append(
            HistoryEvent(
                event_id=event_id,
                event_type=EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
                workflow_execution_completed_event_attributes=(
                    WorkflowExecutionCompletedEventAttributes()
                ),
            )
        )
        run.closed = True

    def _start(
        self, namespace: str, request: StartWorkflowExecutionRequest, run: Run | None
    ) -> Reply:
        if run is not None and not run.closed:
            if run.request_id == request.request_id:
                return ok(StartWorkflowExecutionResponse(run_id=run.run_id, started=True))
            detail = WorkflowExecutionAlreadyStartedFailure(
                start_request_id=run.request_id, run_id=run.run_id
            )
            message = (
                "Workflow execution is already running. "
                f"WorkflowId: {request.workflow_id}, RunId: {run.run_id}."
            )
            return error(6, message, detail)
        run = Run(str(uuid.uuid4()), request.request_id, request.workflow_type.name)
        run.events.append(
            HistoryEvent(event_id=1, event_type=EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED)
        )
        self.runs[(namespace, request.workflow_id)] = run
        return ok(StartWorkflowExecutionResponse(run_id=run.run_id, started=True))

    def _describe(self, workflow_id: str, run: Run) -> DescribeWorkflowExecutionResponse:
        status = (
            WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED
            if run.closed
            else WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING
        )
        info = WorkflowExecutionInfo(
            execution=WorkflowExecution(workflow_id=workflow_id, run_id=run.run_id),
            type=WorkflowType(name=run.workflow_type),
            status=status,
            history_length=len(run.events),
        )
        return DescribeWorkflowExecutionResponse(workflow_execution_info=info)

    def _history(
        self, request: GetWorkflowExecutionHistoryRequest, run: Run
    ) -> GetWorkflowExecutionHistoryResponse:
        """Answers at once: the close event, or the events after the token's position."""
        if request.history_event_filter_type == _CLOSE:
            events = run.events[-1:] if run.closed else []
            return GetWorkflowExecutionHistoryResponse(history=History(events=events))
        start = int(request.next_page_token or b"0")
        events = run.events[start:]
        token = b"" if run.closed else str(len(run.events)).encode()
        return GetWorkflowExecutionHistoryResponse(
            history=History(events=events), next_page_token=token
        )


def _empty_response(kind: str) -> Message:
    from temporalio.api.workflowservice.v1 import request_response_pb2

    cls: type[Message] = getattr(request_response_pb2, f"{kind}Response")
    return cls()


class FakeMatching:
    """Task queues as asyncio queues; a poll waits until its deadline, then answers empty."""

    def __init__(self) -> None:
        self.workflow_tasks: dict[str, asyncio.Queue[PollWorkflowTaskQueueResponse]] = {}
        self.activity_tasks: dict[str, asyncio.Queue[PollActivityTaskQueueResponse]] = {}
        self.polls: list[tuple[Message, float]] = []
        self.queries: list[tuple[QueryTaskRequest, float]] = []
        self.query_replies: list[Reply] = []  # answered in order; DEADLINE_EXCEEDED when out
        self.query_answers: list[tuple[str, QueryTaskCompleted]] = []
        self.answer_reply = Reply()
        self.described: list[DescribeTaskQueueRequest] = []
        self.shutdowns: list[ShutdownWorkerRequest] = []

    async def poll_workflow_task(
        self, request: PollWorkflowTaskQueueRequest, deadline: float
    ) -> PollWorkflowTaskQueueResponse:
        self.polls.append((request, deadline))
        queue = self.workflow_tasks.setdefault(request.task_queue.name, asyncio.Queue())
        try:
            return await asyncio.wait_for(queue.get(), max(0.0, deadline - time.monotonic()))
        except TimeoutError:
            return PollWorkflowTaskQueueResponse()

    async def poll_activity_task(
        self, request: PollActivityTaskQueueRequest, deadline: float
    ) -> PollActivityTaskQueueResponse:
        self.polls.append((request, deadline))
        queue = self.activity_tasks.setdefault(request.task_queue.name, asyncio.Queue())
        try:
            return await asyncio.wait_for(queue.get(), max(0.0, deadline - time.monotonic()))
        except TimeoutError:
            return PollActivityTaskQueueResponse()

    async def query_workflow(self, request: QueryTaskRequest, deadline: float) -> Reply:
        self.queries.append((request, deadline))
        if self.query_replies:
            return self.query_replies.pop(0)
        return Reply(status_code=4, message="query timed out before a worker could process it")

    async def respond_query_task_completed(
        self, address: str, message: QueryTaskCompleted, timeout: float
    ) -> Reply:
        self.query_answers.append((address, message))
        return self.answer_reply

    async def describe_task_queue(
        self, request: DescribeTaskQueueRequest, deadline: float
    ) -> DescribeTaskQueueResponse:
        self.described.append(request)
        return DescribeTaskQueueResponse(pollers=[PollerInfo(identity="fake-poller")])

    async def shutdown_worker(self, request: ShutdownWorkerRequest, deadline: float) -> None:
        self.shutdowns.append(request)


class FakeVisibility:
    """Lists the fake history's runs; the query "bad" is malformed."""

    def __init__(self, history: FakeHistory) -> None:
        self.history = history
        self.calls: list[tuple[str, str, int, bytes]] = []

    async def list(
        self, namespace: str, query: str, page_size: int, next_page_token: bytes
    ) -> ListWorkflowExecutionsResponse:
        self.calls.append((namespace, query, page_size, next_page_token))
        if query == "bad":
            raise InvalidQueryError("invalid query: malformed")
        executions = [
            WorkflowExecutionInfo(
                execution=WorkflowExecution(workflow_id=wid, run_id=run.run_id),
                type=WorkflowType(name=run.workflow_type),
            )
            for (ns, wid), run in sorted(self.history.runs.items())
            if ns == namespace
        ]
        return ListWorkflowExecutionsResponse(executions=executions[:page_size])

    async def count(self, namespace: str, query: str) -> CountWorkflowExecutionsResponse:
        self.calls.append((namespace, query, 0, b""))
        if query == "bad":
            raise InvalidQueryError("invalid query: malformed")
        count = sum(1 for ns, _ in self.history.runs if ns == namespace)
        return CountWorkflowExecutionsResponse(count=count)
