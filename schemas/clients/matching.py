"""The matching client: finds the matching process that owns a task queue and forwards polls to it.

Kafka is the only coordinator: each matching member advertises its gRPC address in its consumer
``client.id`` (``matching@host:port``), and the consumer group's assignment says which member
owns which tasks-topic partition. ``MatchingDirectory`` (a ``directory.GroupDirectory``) reads
that with ``AdminClient.describe_consumer_groups``; ``MatchingClient`` picks the owner for a poll
and forwards it over the internal gRPC service. Queries take the same way (``query_workflow``:
to the owner of a partition of the queue, where its pollers wait); a query's answer goes back
to the process named in the query task token (``respond_query_task_completed``).

A matching member may run in the caller's own process (``python -m strom._frontend_with_matching``);
a poll whose owner is that member is then an in-process call, not a gRPC one.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

import grpc
from google.protobuf.message import Message
from temporalio.api.enums.v1 import TaskQueueKind, TaskQueueType
from temporalio.api.taskqueue.v1 import PollerInfo, TaskQueueStats
from temporalio.api.workflowservice.v1 import request_response_pb2 as wsv1

from schemas import queries
from schemas.clients.directory import GroupDirectory
from schemas.placement import (
    ACTIVITY,
    DEFAULT_TQ_PARTITIONS,
    WORKFLOW,
    PollPartitionPicker,
    parse_partitioned_name,
    topic_partition_for,
)
from schemas.reply import Code, Reply
from schemas.topics import Topology

log = logging.getLogger(__name__)

_R = TypeVar("_R", bound=Message)

SERVICE_NAME = "strom.matching.v1.Matching"
"""Matching's internal gRPC service; its methods take and return Temporal's poll messages."""
POLL_WORKFLOW_TASK_QUEUE = f"/{SERVICE_NAME}/PollWorkflowTaskQueue"
POLL_ACTIVITY_TASK_QUEUE = f"/{SERVICE_NAME}/PollActivityTaskQueue"
QUERY_WORKFLOW = f"/{SERVICE_NAME}/QueryWorkflow"
"""Takes a ``schemas.queries.QueryTaskRequest``, answers an encoded ``Reply``."""
RESPOND_QUERY_TASK_COMPLETED = f"/{SERVICE_NAME}/RespondQueryTaskCompleted"
"""Takes a ``schemas.queries.QueryTaskCompleted``, answers an encoded ``Reply``."""
DESCRIBE_TASK_QUEUE = f"/{SERVICE_NAME}/DescribeTaskQueue"
"""Takes Temporal's DescribeTaskQueueRequest; answers what that member holds of the queue."""
SHUTDOWN_WORKER = f"/{SERVICE_NAME}/ShutdownWorker"
"""Takes Temporal's ShutdownWorkerRequest; unloads its sticky queue (ends the waiting polls)."""

CLIENT_ID_PREFIX = "matching@"
"""A matching member's consumer ``client.id`` is this prefix plus its gRPC ``host:port``."""

_NO_OWNER_PAUSE_SECONDS = 0.5
_UNAVAILABLE_PAUSE_SECONDS = 0.2
_MAX_MESSAGE_BYTES = 128 * 1024 * 1024  # a full-history poll response can be large


def parse_member_address(client_id: str) -> str | None:
    """Returns the gRPC ``host:port`` a matching member advertises, or None for other clients."""
    if not client_id.startswith(CLIENT_ID_PREFIX):
        return None
    address = client_id[len(CLIENT_ID_PREFIX) :]
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit():
        return None
    return address


def choose_owner(owners: dict[int, str], topic_partition: int) -> str | None:
    """The member to send a poll to: the partition's owner, the only member, or any member.

    During a rebalance a partition can be unowned for a moment; any member still serves the
    queue's other partitions it owns, so the poll goes there rather than nowhere.
    """
    if topic_partition in owners:
        return owners[topic_partition]
    members = sorted(set(owners.values()))
    return members[0] if members else None


class MatchingDirectory(GroupDirectory):
    """Cached map of tasks-topic partition -> owning matching member's gRPC address.

    Args:
        bootstrap: Kafka bootstrap servers.
        prefix: Cluster name (topic ``<prefix>.tasks``, group ``<prefix>.matching``).
        refresh_interval: Seconds a lookup stays fresh.
    """

    def __init__(
        self, bootstrap: str, prefix: str = "strom", refresh_interval: float = 3.0
    ) -> None:
        topology = Topology(prefix)
        super().__init__(
            bootstrap,
            topology.matching_group,
            topology.tasks,
            parse_member_address,
            refresh_interval,
        )


class LocalMember(Protocol):
    """A matching member in the caller's process (`matching_processor.MatchingService`)."""

    address: str
    """Its gRPC address, as the directory lists it."""

    async def poll_workflow_task(
        self, request: wsv1.PollWorkflowTaskQueueRequest, time_remaining: float | None
    ) -> wsv1.PollWorkflowTaskQueueResponse: ...

    async def poll_activity_task(
        self, request: wsv1.PollActivityTaskQueueRequest, time_remaining: float | None
    ) -> wsv1.PollActivityTaskQueueResponse: ...

    async def stop(self) -> None:
        """Answers its waiting polls empty, stops serving and leaves the group."""


class _FailureLog:
    """Logs a matching member's failed calls at most once per `every` seconds per member.

    After a member dies, every poll retries against it until the group has rebalanced (seconds):
    one line per member per interval, with how many failures it stands for, tells the operator
    as much as one line per failure did.
    """

    def __init__(self, every: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._every = every
        self._clock = clock
        self._seen: dict[str, tuple[float, int]] = {}  # address -> (last logged, held back since)

    def note(self, address: str, message: str) -> None:
        """Logs `message` about `address` unless one was logged within the interval."""
        now = self._clock()
        last, held = self._seen.get(address, (None, 0))
        if last is not None and now - last < self._every:
            self._seen[address] = (last, held + 1)
            return
        more = (
            f" ({held} more like it in the last {now - last:.0f} s)"
            if last is not None and held
            else ""
        )
        log.info("%s%s", message, more)
        # Members that stopped failing are forgotten after a while (a dead one never returns).
        horizon = now - 10 * self._every
        self._seen = {a: e for a, e in self._seen.items() if e[0] >= horizon}
        self._seen[address] = (now, 0)


class MatchingClient:
    """Forwards worker polls to the matching member that owns the queue; the frontend's backend.

    Args:
        directory: Where members are.
        n_tq_partitions: Partitions of a normal task queue (must equal matching's setting).
        local: A member running in this process: polls it owns are awaited in-process.
    """

    def __init__(
        self,
        directory: MatchingDirectory,
        n_tq_partitions: int = DEFAULT_TQ_PARTITIONS,
        local: LocalMember | None = None,
    ) -> None:
        self._directory = directory
        self._n_tq_partitions = n_tq_partitions
        self._picker = PollPartitionPicker(n_tq_partitions)
        self._channels: dict[str, grpc.aio.Channel] = {}
        self._local = local
        self._failures = _FailureLog()

    async def poll_workflow_task(
        self, request: wsv1.PollWorkflowTaskQueueRequest, deadline: float
    ) -> wsv1.PollWorkflowTaskQueueResponse:
        """Long-polls a workflow task; an empty response at the deadline.

        Args:
            request: The worker's poll.
            deadline: When the caller gives up, as a ``time.monotonic()`` value.

        Raises:
            grpc.aio.AioRpcError: Matching answered with an error other than UNAVAILABLE or
                DEADLINE_EXCEEDED.
        """
        sticky = request.task_queue.kind == TaskQueueKind.TASK_QUEUE_KIND_STICKY
        return await self._forward(
            POLL_WORKFLOW_TASK_QUEUE,
            request,
            wsv1.PollWorkflowTaskQueueResponse,
            WORKFLOW,
            sticky,
            deadline,
        )

    async def poll_activity_task(
        self, request: wsv1.PollActivityTaskQueueRequest, deadline: float
    ) -> wsv1.PollActivityTaskQueueResponse:
        """Long-polls an activity task; an empty response at the deadline.

        Args:
            request: The worker's poll.
            deadline: When the caller gives up, as a ``time.monotonic()`` value.

        Raises:
            grpc.aio.AioRpcError: As for ``poll_workflow_task``.
        """
        return await self._forward(
            POLL_ACTIVITY_TASK_QUEUE,
            request,
            wsv1.PollActivityTaskQueueResponse,
            ACTIVITY,
            False,
            deadline,
        )

    async def query_workflow(self, request: queries.QueryTaskRequest, deadline: float) -> Reply:
        """Hands a query to a poller of its queue and awaits the worker's answer.

        A normal queue's query goes to the owner of one of its partitions (spread like polls);
        a sticky queue's to the owner of its only partition.

        Args:
            request: The query; its ``tq_partition`` is chosen here.
            deadline: When the caller gives up, as a ``time.monotonic()`` value.

        Returns:
            Matching's reply (see ``matching_processor.queries``); DEADLINE_EXCEEDED when the
            deadline passed first.
        """
        tq_partition = self._picker.pick(
            request.namespace, request.task_queue, WORKFLOW, request.sticky
        )
        request = dataclasses.replace(request, tq_partition=tq_partition)
        payload = request.to_bytes()
        base, _ = parse_partitioned_name(request.task_queue)
        while (remaining := deadline - time.monotonic()) > 0:
            address = await self._owner(request.namespace, base, WORKFLOW, tq_partition)
            if address is None:
                await asyncio.sleep(min(_NO_OWNER_PAUSE_SECONDS, remaining))
                continue
            try:
                data = await self._raw_call(address, QUERY_WORKFLOW, payload, remaining)
            except grpc.aio.AioRpcError as exc:
                if exc.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                    break
                if exc.code() != grpc.StatusCode.UNAVAILABLE:
                    return Reply(status_code=exc.code().value[0], message=exc.details() or "")
                # Nothing was answered yet, and a query is a read: ask the new owner.
                await self._forget_member(address)
                await asyncio.sleep(min(_UNAVAILABLE_PAUSE_SECONDS, max(0.0, remaining)))
                continue
            return queries.decode_reply(data)
        return Reply.error(Code.DEADLINE_EXCEEDED, queries.QUERY_TIMED_OUT)

    async def respond_query_task_completed(
        self, address: str, message: queries.QueryTaskCompleted, timeout: float
    ) -> Reply:
        """Delivers a worker's answer to the matching process where the query waits.

        Returns:
            Matching's reply; Temporal's NOT_FOUND when that process is gone (the query
            went with it).
        """
        try:
            data = await self._raw_call(
                address, RESPOND_QUERY_TASK_COMPLETED, message.to_bytes(), timeout
            )
        except grpc.aio.AioRpcError as exc:
            log.info("query answer for %s not delivered: %s", address, exc.details())
            return Reply.error(Code.NOT_FOUND, queries.QUERY_TASK_NOT_FOUND)
        return queries.decode_reply(data)

    async def _owner(self, namespace: str, base: str, kind: str, tq_partition: int) -> str | None:
        owners = await self._directory.owners()
        n = await self._directory.n_partitions()
        partition = topic_partition_for(namespace, base, kind, tq_partition, n) if n else -1
        address = choose_owner(owners, partition)
        if address is None:
            self._directory.invalidate()
        return address

    async def _raw_call(self, address: str, method: str, payload: bytes, timeout: float) -> bytes:
        call = self._channel(address).unary_unary(
            method, request_serializer=_identity, response_deserializer=_identity
        )
        data: bytes = await call(payload, timeout=timeout)
        return data

    async def _forget_member(self, address: str) -> None:
        self._directory.invalidate()
        await self._drop_channel(address)

    async def describe_task_queue(
        self, request: wsv1.DescribeTaskQueueRequest, deadline: float
    ) -> wsv1.DescribeTaskQueueResponse:
        """Asks every member holding a partition of the queue and adds their answers up.

        Args:
            request: Temporal's request, validated and normalized by the frontend.
            deadline: When the caller gives up, as a ``time.monotonic()`` value.

        Raises:
            ConnectionError: No matching member owns the queue's partitions.
            grpc.aio.AioRpcError: A member answered with an error other than UNAVAILABLE.
        """
        kind = (
            ACTIVITY
            if request.task_queue_type == TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY
            else WORKFLOW
        )
        sticky = request.task_queue.kind == TaskQueueKind.TASK_QUEUE_KIND_STICKY
        base, _ = parse_partitioned_name(request.task_queue.name)
        partitions = [0] if sticky else list(range(self._n_tq_partitions))
        members = await self._owners_of(request.namespace, base, kind, partitions)
        if not members:
            raise ConnectionError(f"no matching process owns task queue {base!r}")
        answers = await asyncio.gather(
            *(
                self._call_member(
                    address, DESCRIBE_TASK_QUEUE, request, wsv1.DescribeTaskQueueResponse, deadline
                )
                for address in members
            )
        )
        return merge_descriptions([a for a in answers if a is not None])

    async def shutdown_worker(self, request: wsv1.ShutdownWorkerRequest, deadline: float) -> None:
        """Unloads the worker's sticky queue at the member that owns it (no-op without one).

        Raises:
            grpc.aio.AioRpcError: The member answered with an error other than UNAVAILABLE.
        """
        if not request.sticky_task_queue:
            return
        members = await self._owners_of(request.namespace, request.sticky_task_queue, WORKFLOW, [0])
        for address in members:
            await self._call_member(
                address, SHUTDOWN_WORKER, request, wsv1.ShutdownWorkerResponse, deadline
            )

    async def _owners_of(
        self, namespace: str, task_queue: str, kind: str, tq_partitions: list[int]
    ) -> list[str]:
        owners = await self._directory.owners()
        n = await self._directory.n_partitions()
        if not n:
            return []
        found = {
            choose_owner(owners, topic_partition_for(namespace, task_queue, kind, p, n))
            for p in tq_partitions
        }
        return sorted(a for a in found if a is not None)

    async def _call_member(
        self, address: str, method: str, request: Any, response_type: type[_R], deadline: float
    ) -> _R | None:
        """One unary call; None when the member is unavailable (it is then looked up again)."""
        call = self._channel(address).unary_unary(
            method,
            request_serializer=type(request).SerializeToString,
            response_deserializer=response_type.FromString,
        )
        try:
            return await call(request, timeout=max(0.0, deadline - time.monotonic()))
        except grpc.aio.AioRpcError as exc:
            if exc.code() not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                raise
            self._failures.note(
                address, f"matching member {address} did not answer {method}: {exc.details()}"
            )
            self._directory.invalidate()
            return None

    async def close(self) -> None:
        """Closes the cached channels."""
        channels, self._channels = self._channels, {}
        for channel in channels.values():
            await channel.close()

    async def _forward(
        self,
        method: str,
        request: Any,
        response_type: type[_R],
        kind: str,
        sticky: bool,
        deadline: float,
    ) -> _R:
        namespace, name = request.namespace, request.task_queue.name
        tq_partition = self._picker.pick(namespace, name, kind, sticky)
        base, _ = parse_partitioned_name(name)
        while (remaining := deadline - time.monotonic()) > 0:
            owners = await self._directory.owners()
            n = await self._directory.n_partitions()
            partition = topic_partition_for(namespace, base, kind, tq_partition, n) if n else -1
            address = choose_owner(owners, partition)
            if address is None:
                self._directory.invalidate()
                await asyncio.sleep(min(_NO_OWNER_PAUSE_SECONDS, remaining))
                continue
            if self._local is not None and address == self._local.address:
                local = self._local
                poll = local.poll_workflow_task if kind == WORKFLOW else local.poll_activity_task
                return await poll(request, remaining)  # type: ignore[return-value]
            call = self._channel(address).unary_unary(
                method,
                request_serializer=type(request).SerializeToString,
                response_deserializer=response_type.FromString,
            )
            try:
                return await call(request, timeout=remaining)
            except grpc.aio.AioRpcError as exc:
                if exc.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                    break
                if exc.code() != grpc.StatusCode.UNAVAILABLE:
                    raise
                self._failures.note(
                    address, f"matching member {address} unavailable: {exc.details()}"
                )
                self._directory.invalidate()
                await self._drop_channel(address)
                await asyncio.sleep(min(_UNAVAILABLE_PAUSE_SECONDS, max(0.0, remaining)))
        return response_type()

    def _channel(self, address: str) -> grpc.aio.Channel:
        channel = self._channels.get(address)
        if channel is None:
            channel = grpc.aio.insecure_channel(
                address, options=[("grpc.max_receive_message_length", _MAX_MESSAGE_BYTES)]
            )
            self._channels[address] = channel
        return channel

    async def _drop_channel(self, address: str) -> None:
        channel = self._channels.pop(address, None)
        if channel is not None:
            await channel.close()


def _identity(data: bytes) -> bytes:
    return data


def merge_descriptions(
    answers: list[wsv1.DescribeTaskQueueResponse],
) -> wsv1.DescribeTaskQueueResponse:
    """One DescribeTaskQueue answer from the members' parts: pollers deduplicated by
    identity (latest access wins), backlog counts added, the oldest backlog age kept."""
    pollers: dict[str, PollerInfo] = {}
    for answer in answers:
        for poller in answer.pollers:
            seen = pollers.get(poller.identity)
            if seen is None or poller.last_access_time.ToNanoseconds() > (
                seen.last_access_time.ToNanoseconds()
            ):
                pollers[poller.identity] = poller
    merged = wsv1.DescribeTaskQueueResponse(
        pollers=sorted(
            pollers.values(), key=lambda p: (-p.last_access_time.ToNanoseconds(), p.identity)
        )
    )
    statuses = [a.task_queue_status for a in answers if a.HasField("task_queue_status")]
    if statuses:
        merged.task_queue_status.backlog_count_hint = sum(s.backlog_count_hint for s in statuses)
    stats = [a.stats for a in answers if a.HasField("stats")]
    if stats:
        merged.stats.CopyFrom(_add_stats(stats))
    for key in sorted({k for a in answers for k in a.stats_by_priority_key}):
        parts = [a.stats_by_priority_key[key] for a in answers if key in a.stats_by_priority_key]
        merged.stats_by_priority_key[key].CopyFrom(_add_stats(parts))
    return merged


def _add_stats(parts: list[TaskQueueStats]) -> TaskQueueStats:
    total = TaskQueueStats(
        approximate_backlog_count=sum(p.approximate_backlog_count for p in parts)
    )
    oldest = max(p.approximate_backlog_age.ToNanoseconds() for p in parts)
    total.approximate_backlog_age.FromNanoseconds(oldest)
    return total
