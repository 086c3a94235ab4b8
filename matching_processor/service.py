"""A matching process: tasks-topic consumer thread, dispatcher, inbox producer, internal gRPC API.

Threads: the asyncio loop owns the ``Dispatcher`` (and through it the ``TaskQueues``), the gRPC
server and the inbox producer; the ``TaskConsumer`` thread only reads Kafka and commits.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import grpc
from confluent_kafka import KafkaException
from google.protobuf.message import DecodeError
from temporalio.api.workflowservice.v1 import request_response_pb2 as wsv1

import schemas
from matching_processor import api
from matching_processor.config import MatchingConfig
from matching_processor.consumer import RawTask, TaskConsumer
from matching_processor.dispatcher import Dispatcher
from matching_processor.exceptions import MatchingError
from matching_processor.progress import ProgressStore
from matching_processor.queues import MatchingMetrics, TaskQueues
from matching_processor.reloader import Reloader
from schemas import deadletter, inbox, queries
from schemas.clients.history import HistoryCaller
from schemas.exceptions import PayloadDecodeError
from schemas.inbox import (
    RECORD_WORKFLOW_TASK_STARTED,
    STICKY_WORKER_UNAVAILABLE,
    RecordWorkflowTaskStarted,
    StickyWorkerUnavailable,
)
from schemas.placement import topic_partition_for
from schemas.records import DeadLetterRecord
from schemas.reply import Code, Reply
from schemas.topics import Topology
from streams import ensure_topics, grpc_server, metrics
from streams.connection import AdminClient, Producer
from streams.supervision import OnDeath, log_death, start_thread

log = logging.getLogger(__name__)

_TICK_SECONDS = 1.0


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


class MatchingService:
    """One matching process; use as ``async with MatchingService(...)`` or ``start``/``stop``.

    Args:
        config: Where and how to run.
        history: Client for RecordWorkflowTaskStarted and RecordActivityTaskStarted, e.g. a
            ``schemas.clients.history.HistoryClient``.
        clock: Epoch milliseconds; schedule-to-start expiry and start times use it.
        on_death: Told when the consumer thread dies (the process then stops, non-zero).
        producer: A Kafka producer of the process to send inbox commands with, whose owner
            serves its delivery reports and flushes it (the frontend's history client, when
            the member runs in the frontend's process: its commands and the member's then
            share produce requests); None: the member makes its own.
    """

    def __init__(
        self,
        config: MatchingConfig,
        history: HistoryCaller,
        clock: Callable[[], int] = _wall_ms,
        on_death: OnDeath = log_death,
        producer: Producer | None = None,
    ) -> None:
        self.config = config
        self._shared_producer = producer
        self._on_death = on_death
        self._history = history
        self._clock = clock
        self._dispatcher: Dispatcher | None = None
        self._server: grpc.aio.Server | None = None
        self._consumer: TaskConsumer | None = None
        self._reloader: Reloader | None = None
        self._producer: Producer | None = None
        self._deliveries: threading.Thread | None = None
        self._stop_deliveries = threading.Event()
        self._ticker: asyncio.Task[None] | None = None
        self._n_inbox = 0
        self.address = ""

    @property
    def dispatcher(self) -> Dispatcher:
        """The poll/dispatch logic (metrics, backlog and poll introspection); loop-only."""
        if self._dispatcher is None:
            raise MatchingError("service not started")
        return self._dispatcher

    @property
    def metrics(self) -> MatchingMetrics:
        """Counters: sync matches, backlog dispatches, expired, stale, requeued tasks."""
        return self.dispatcher.metrics

    @property
    def assigned_partitions(self) -> set[int]:
        """Tasks-topic partitions this member owns now."""
        return set() if self._consumer is None else self._consumer.assigned

    def backlog_size(self, namespace: str, task_queue: str, task_kind: str) -> int:
        """Tasks in the backlogs of all partitions of a normal queue."""
        return self.dispatcher.backlog_size(namespace, task_queue, task_kind)

    def waiting_polls(self, namespace: str, task_queue: str, task_kind: str) -> int:
        """Polls waiting on a normal queue."""
        return self.dispatcher.waiting_polls(namespace, task_queue, task_kind)

    async def poll_workflow_task(
        self, request: wsv1.PollWorkflowTaskQueueRequest, time_remaining: float | None
    ) -> wsv1.PollWorkflowTaskQueueResponse:
        """Long-polls a workflow task in-process (what the gRPC method does)."""
        return await self.dispatcher.poll_workflow_task(request, time_remaining)

    async def poll_activity_task(
        self, request: wsv1.PollActivityTaskQueueRequest, time_remaining: float | None
    ) -> wsv1.PollActivityTaskQueueResponse:
        """Long-polls an activity task in-process (what the gRPC method does)."""
        return await self.dispatcher.poll_activity_task(request, time_remaining)

    async def __aenter__(self) -> MatchingService:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Reads topic metadata, starts the gRPC server, then joins the consumer group.

        Raises:
            MatchingError: A topic is missing.
            BindError: The gRPC address could not be bound.
        """
        n_tasks, self._n_inbox = await asyncio.to_thread(self._partition_counts)
        queues = TaskQueues(
            lambda key: topic_partition_for(
                key.namespace, key.task_queue, key.task_kind, key.tq_partition, n_tasks
            ),
            self.config.max_backlog_in_memory,
        )
        metrics.watch_matching(queues)
        self._dispatcher = Dispatcher(
            queues,
            self._history,
            self._clock,
            self.config.n_tq_partitions,
            self.config.history_timeout,
            self._send_workflow_started,
            self._send_sticky_unavailable,
            self._dead_letter,
            self._request_reload,
        )
        try:
            await self._start_io()
        except BaseException:
            await self.stop()
            raise
        log.info("matching serving on %s", self.address)

    async def _start_io(self) -> None:
        dispatcher = self.dispatcher
        self._server = grpc.aio.server(options=grpc_server.SERVER_OPTIONS)
        metrics.MeasuredServer(self._server).add_generic_rpc_handlers(
            (
                api.generic_handler(
                    self._grpc_poll_workflow,
                    self._grpc_poll_activity,
                    self._grpc_describe,
                    self._grpc_shutdown_worker,
                    self._grpc_query_workflow,
                    self._grpc_respond_query_task_completed,
                ),
            )
        )
        address = f"{self.config.grpc_host}:{self.config.grpc_port}"
        port = grpc_server.bind(self._server, address, "matching")
        await self._server.start()
        # The member's client.id carries the real port, so discovery works with port 0 too.
        self.address = f"{self.config.advertise_host}:{port}"
        dispatcher.queries.address = self.address
        if self._shared_producer is not None:
            self._producer = self._shared_producer
        else:
            self._producer = Producer(self.config.producer_settings())
            self._deliveries = start_thread(
                self._serve_deliveries, "matching-inbox-deliveries", self._on_death
            )
        self._consumer = TaskConsumer(
            self.config.consumer_settings(self.address),
            self.config.tasks_topic,
            asyncio.get_running_loop(),
            deliver=dispatcher.on_records,
            assign=dispatcher.assign,
            revoke=dispatcher.revoke,
            progress=dispatcher.progress,
            store=ProgressStore(
                self.config.bootstrap, self.config.progress_topic, self.config.extra_producer
            ),
            commit_interval=self.config.commit_interval,
            truncate_every=self.config.truncate_interval,
        )
        self._consumer.on_death = self._on_death
        self._reloader = Reloader(
            self.config.bootstrap,
            self.config.tasks_topic,
            asyncio.get_running_loop(),
            dispatcher.on_reloaded,
        )
        self._reloader.on_death = self._on_death
        self._reloader.start()
        self._consumer.start()
        self._ticker = asyncio.create_task(self._tick(), name="matching-ticker")

    async def stop(self) -> None:
        """Answers waiting polls empty, stops serving, commits and leaves the group."""
        if self._dispatcher is not None:
            self._dispatcher.close()
        if self._server is not None:
            await self._server.stop(grace=2.0)
            self._server = None
        if self._ticker is not None:
            self._ticker.cancel()
            await asyncio.gather(self._ticker, return_exceptions=True)
            self._ticker = None
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None
        if self._reloader is not None:
            await self._reloader.stop()
            self._reloader = None
        if self._deliveries is not None:
            self._stop_deliveries.set()
            await asyncio.to_thread(self._deliveries.join, 5.0)
            self._deliveries = None
        if self._producer is not None:
            producer = self._producer
            self._producer = None
            if producer is not self._shared_producer:
                await asyncio.to_thread(producer.flush, 10.0)

    async def _grpc_poll_workflow(
        self, request: wsv1.PollWorkflowTaskQueueRequest, context: grpc.aio.ServicerContext
    ) -> wsv1.PollWorkflowTaskQueueResponse:
        return await self.dispatcher.poll_workflow_task(request, context.time_remaining())

    async def _grpc_poll_activity(
        self, request: wsv1.PollActivityTaskQueueRequest, context: grpc.aio.ServicerContext
    ) -> wsv1.PollActivityTaskQueueResponse:
        return await self.dispatcher.poll_activity_task(request, context.time_remaining())

    async def _grpc_query_workflow(self, data: bytes, context: grpc.aio.ServicerContext) -> bytes:
        try:
            request = queries.QueryTaskRequest.from_bytes(data)
        except PayloadDecodeError as exc:
            return queries.encode_reply(Reply.error(Code.INVALID_ARGUMENT, str(exc)))
        reply = await self.dispatcher.queries.dispatch(request, context.time_remaining())
        return queries.encode_reply(reply)

    async def _grpc_respond_query_task_completed(
        self, data: bytes, context: grpc.aio.ServicerContext
    ) -> bytes:
        try:
            message = queries.QueryTaskCompleted.from_bytes(data)
            completed = wsv1.RespondQueryTaskCompletedRequest.FromString(message.request)
        except (PayloadDecodeError, DecodeError) as exc:
            return queries.encode_reply(Reply.error(Code.INVALID_ARGUMENT, str(exc)))
        return queries.encode_reply(self.dispatcher.queries.complete(message.task_id, completed))

    async def _grpc_describe(
        self, request: wsv1.DescribeTaskQueueRequest, context: grpc.aio.ServicerContext
    ) -> wsv1.DescribeTaskQueueResponse:
        return self.dispatcher.describe(request)

    async def _grpc_shutdown_worker(
        self, request: wsv1.ShutdownWorkerRequest, context: grpc.aio.ServicerContext
    ) -> wsv1.ShutdownWorkerResponse:
        if request.sticky_task_queue:
            self.dispatcher.release_sticky_queue(request.namespace, request.sticky_task_queue)
        return wsv1.ShutdownWorkerResponse()

    def _produce_to_inbox(
        self,
        kind: str,
        message: RecordWorkflowTaskStarted | StickyWorkerUnavailable,
        request_time_ms: int,
        on_delivery: Callable[[Any, Any], None],
    ) -> bool:
        """Produces one InboxCommand (no reply wanted) to the shard of the message's workflow."""
        producer = self._producer
        if producer is None:
            return False
        command = inbox.command_record(
            uuid.uuid4().hex,
            message.namespace,
            message.workflow_id,
            kind,
            message.to_bytes(),
            request_time_ms,
        )
        key, shard = inbox.placement(message.namespace, message.workflow_id, self._n_inbox)
        try:
            producer.produce(
                self.config.inbox_topic,
                value=schemas.encode(schemas.INBOX_COMMAND, dict(command)),
                key=key,
                partition=shard,
                on_delivery=on_delivery,
            )
        except (BufferError, KafkaException) as exc:
            log.warning("%s for %s not sent: %s", kind, message.workflow_id, exc)
            return False
        return True

    async def _send_workflow_started(self, message: RecordWorkflowTaskStarted) -> bool:
        """Sends an optimistic RecordWorkflowTaskStarted; True once it cannot be lost.

        Straight to the history process that owns the shard, when it takes commands directly
        (`HistoryClient.post`): handed to the kernel, and produced to the inbox by the history
        client if that process goes away before it committed it. A completion that overtakes
        it is sent again through the inbox (`history_processor.handling.start_not_seen`).
        Otherwise produced to the inbox, and True once Kafka acknowledged it, before the poll
        is answered: the start then precedes the worker's completion in the inbox partition.
        """
        if await self._history.post(
            message.namespace,
            message.workflow_id,
            RECORD_WORKFLOW_TASK_STARTED,
            message.to_bytes(),
            message.started_time_ms,
        ):
            return True
        loop = asyncio.get_running_loop()
        delivered: asyncio.Future[Any] = loop.create_future()

        def on_delivery(err: Any, _msg: Any) -> None:
            # Called on whichever thread polls the producer (mostly `_serve_deliveries`).
            loop.call_soon_threadsafe(_settle, delivered, err)

        sent = self._produce_to_inbox(
            RECORD_WORKFLOW_TASK_STARTED, message, message.started_time_ms, on_delivery
        )
        if not sent:
            return False
        try:
            # Not a flush per message: that cost a worker thread per poll answered, and each
            # flush waited for every other message in flight too.
            err = await asyncio.wait_for(delivered, _DELIVERY_TIMEOUT_S)
        except TimeoutError:
            err = "no acknowledgement"
        if err is not None:
            log.warning(
                "RecordWorkflowTaskStarted for %s not delivered: %s", message.workflow_id, err
            )
            return False
        return True

    def _serve_deliveries(self) -> None:
        """Serves the inbox producer's delivery reports until `stop` (on its own thread)."""
        producer = self._producer
        while producer is not None and not self._stop_deliveries.is_set():
            producer.poll(0.1)

    def _send_sticky_unavailable(self, message: StickyWorkerUnavailable) -> None:
        # Fire and forget: if it is lost, the task's sticky
        # schedule-to-start timeout moves it to the normal queue later.
        self._produce_to_inbox(
            STICKY_WORKER_UNAVAILABLE, message, self._clock(), _log_delivery_error
        )
        if self._producer is not None:
            self._producer.poll(0)

    def _request_reload(self, wanted: dict[int, list[int]]) -> None:
        if self._reloader is not None:
            self._reloader.request(wanted)

    def _dead_letter(self, raw: RawTask, error: str) -> None:
        """Keeps a task record nobody can read on the dead-letter topic (`strom dlq`)."""
        producer = self._producer
        if producer is None:
            return
        record: DeadLetterRecord = {
            "service": "matching",
            "source_topic": self.config.tasks_topic,
            "source_partition": raw.partition,
            "source_offset": raw.offset,
            "key": None,
            "value": raw.value,
            "error": error[: deadletter.MAX_ERROR_CHARS],
            "time_ms": self._clock(),
        }
        key, value = deadletter.encode(record)
        try:
            producer.produce(Topology(self.config.prefix).deadletter, value, key, partition=0)
        except (BufferError, KafkaException) as exc:
            log.error("dead letter of task %d@%d not sent: %s", raw.offset, raw.partition, exc)

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(_TICK_SECONDS)
            self.dispatcher.expire()
            if self._producer is not None:
                self._producer.poll(0)

    def _partition_counts(self) -> tuple[int, int]:
        admin = AdminClient({"bootstrap.servers": self.config.bootstrap})
        topics = admin.list_topics(timeout=30).topics
        counts = []
        for name in (self.config.tasks_topic, self.config.inbox_topic):
            meta = topics.get(name)
            if meta is None or meta.error is not None or not meta.partitions:
                raise MatchingError(f"topic {name} does not exist at {self.config.bootstrap}")
            counts.append(len(meta.partitions))
        # Matching's own needs of the topics, also on a cluster made before they existed:
        # the tasks topic keeps its records (retention off) and the progress topic exists.
        topology = Topology(self.config.prefix, task_partitions=counts[0])
        mine = {self.config.tasks_topic, self.config.progress_topic}
        ensure_topics(self.config.bootstrap, [s for s in topology.specs() if s.name in mine])
        return counts[0], counts[1]


_DELIVERY_TIMEOUT_S = 10.0
"""How long a poll answer waits for its RecordWorkflowTaskStarted to be acknowledged."""


def _settle(future: asyncio.Future[Any], err: Any) -> None:
    if not future.done():  # the wait may have timed out already
        future.set_result(err)


def _log_delivery_error(err: Any, msg: Any) -> None:
    if err is not None:
        log.warning("inbox message delivery failed: %s", err)
