"""A matching member in the frontend's process: the polls it owns are in-process calls."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import grpc
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import request_response_pb2 as wsv1

from matching_processor import api
from schemas.clients.matching import MatchingClient
from tests.unit.matching.test_matching_queries import OneMember


class Member:
    """A LocalMember stand-in that answers every poll with a task token naming itself."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.polls: list[tuple[str, float | None]] = []

    async def poll_workflow_task(
        self, request: wsv1.PollWorkflowTaskQueueRequest, time_remaining: float | None
    ) -> wsv1.PollWorkflowTaskQueueResponse:
        self.polls.append(("workflow", time_remaining))
        return wsv1.PollWorkflowTaskQueueResponse(task_token=b"local-wf")

    async def poll_activity_task(
        self, request: wsv1.PollActivityTaskQueueRequest, time_remaining: float | None
    ) -> wsv1.PollActivityTaskQueueResponse:
        self.polls.append(("activity", time_remaining))
        return wsv1.PollActivityTaskQueueResponse(task_token=b"local-act")

    async def stop(self) -> None:
        pass


def _workflow_poll() -> wsv1.PollWorkflowTaskQueueRequest:
    return wsv1.PollWorkflowTaskQueueRequest(namespace="default", task_queue=TaskQueue(name="q"))


def _activity_poll() -> wsv1.PollActivityTaskQueueRequest:
    return wsv1.PollActivityTaskQueueRequest(namespace="default", task_queue=TaskQueue(name="q"))


async def test_polls_the_local_member_owns_never_leave_the_process() -> None:
    # Nothing listens at the address: a gRPC call would fail, not answer.
    member = Member("127.0.0.1:1")
    client = MatchingClient(OneMember(member.address), local=member)  # type: ignore[arg-type]
    try:
        workflow = await client.poll_workflow_task(_workflow_poll(), time.monotonic() + 5)
        activity = await client.poll_activity_task(_activity_poll(), time.monotonic() + 5)
    finally:
        await client.close()
    assert (workflow.task_token, activity.task_token) == (b"local-wf", b"local-act")
    assert [kind for kind, _ in member.polls] == ["workflow", "activity"]
    # The member gets the time left of the caller's deadline, as a gRPC handler would.
    assert all(remaining is not None and 4 < remaining <= 5 for _, remaining in member.polls)


async def test_polls_another_member_owns_go_over_grpc() -> None:
    served: list[str] = []

    async def poll_workflow(request: Any, context: Any) -> wsv1.PollWorkflowTaskQueueResponse:
        served.append(request.task_queue.name)
        return wsv1.PollWorkflowTaskQueueResponse(task_token=b"remote")

    async def unused(request: Any, context: Any) -> Any:
        raise AssertionError("not called")

    server = grpc.aio.server()
    server.add_generic_rpc_handlers((api.generic_handler(poll_workflow, unused, unused, unused),))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    member = Member("127.0.0.1:1")
    client = MatchingClient(OneMember(f"127.0.0.1:{port}"), local=member)  # type: ignore[arg-type]
    try:
        response = await client.poll_workflow_task(_workflow_poll(), time.monotonic() + 5)
    finally:
        await client.close()
        await server.stop(None)
    assert response.task_token == b"remote" and served == ["q"] and member.polls == []


async def test_a_cancelled_poll_cancels_the_local_members_wait() -> None:
    started, cancelled = asyncio.Event(), asyncio.Event()

    class Waiting(Member):
        async def poll_workflow_task(
            self, request: wsv1.PollWorkflowTaskQueueRequest, time_remaining: float | None
        ) -> wsv1.PollWorkflowTaskQueueResponse:
            started.set()
            try:
                await asyncio.sleep(60)
            except asyncio.CancelledError:
                cancelled.set()
                raise
            return wsv1.PollWorkflowTaskQueueResponse()

    member = Waiting("127.0.0.1:1")
    client = MatchingClient(OneMember(member.address), local=member)  # type: ignore[arg-type]
    poll = asyncio.create_task(client.poll_workflow_task(_workflow_poll(), time.monotonic() + 60))
    await asyncio.wait_for(started.wait(), 5)
    poll.cancel()  # the worker went away: the frontend cancels its call
    await asyncio.gather(poll, return_exceptions=True)
    await asyncio.wait_for(cancelled.wait(), 5)
    await client.close()
