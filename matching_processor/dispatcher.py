"""Long-polls against the in-memory queues, and the dispatch of matched tasks (asyncio, no Kafka).

Everything here runs on one asyncio loop, which owns the ``TaskQueues``; the Kafka consumer
thread reaches it only through ``on_records``, ``revoke`` and ``watermarks`` scheduled onto
the loop (see ``matching_processor.consumer``).

Dispatch of a matched task:

- workflow task: ``RecordWorkflowTaskStarted`` through the history client; OK -> its payload is
  the poll response; NOT_FOUND -> the task is stale, dropped, the poll keeps waiting; no reply or
  a transient status -> the task goes back to the head of its backlog. A retry of the same task
  reuses its request id, so history can answer it idempotently.
- activity task: ``RecordActivityTaskStarted`` through the history client, with the same
  outcomes as a workflow task; on OK the poller gets the prebuilt response from the record,
  completed with start time and attempt. So no task, however often matching reads it again
  (after a crash before its progress was committed, or a rebalance), reaches two workers.
- an optimistic workflow task (a record with a prepared response) is answered before history
  checks it; only a ``fresh`` task (read above the partition's end at assignment, so never
  seen by an earlier owner) may go that way.
- query task (never from Kafka; see ``matching_processor.queries``): its poll response comes
  from ``QueryTasks.start``.

Contract: a poll cancelled while it waits consumes no task (a task matched to it in that
instant goes back to the backlog). A poll cancelled while history records the start gives the
task up: history may have started it, and its workflow-task timeout reschedules it if not.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from temporalio.api.workflowservice.v1 import request_response_pb2 as wsv1

import schemas
from matching_processor import dispatch, routing
from matching_processor.consumer import RawTask
from matching_processor.describe import describe_local
from matching_processor.dispatch_rate import DispatchRates
from matching_processor.pollers import STICKY_UNAVAILABLE_AFTER_MS, PollerHistory
from matching_processor.queries import QueryTasks
from matching_processor.queues import (
    MatchingMetrics,
    Poller,
    Progress,
    QueryTask,
    QueuedTask,
    QueueKey,
    TaskQueues,
)
from schemas import prepared
from schemas.clients.history import HistoryCaller
from schemas.inbox import (
    RECORD_ACTIVITY_TASK_STARTED,
    RECORD_WORKFLOW_TASK_STARTED,
    ActivityTaskStarted,
    RecordWorkflowTaskStarted,
    StickyWorkerUnavailable,
)
from schemas.placement import ACTIVITY, DEFAULT_TQ_PARTITIONS, STICKY, WORKFLOW
from schemas.reply import TRANSIENT_CODES, Code, Reply
from streams import metrics

log = logging.getLogger(__name__)

_RETRY_PAUSE_SECONDS = 0.2
_MIN_HISTORY_TIMEOUT = 0.5
# Answers that mean the task is obsolete: dropped without a warning.
_STALE_CODES = (Code.NOT_FOUND, Code.ALREADY_EXISTS, Code.FAILED_PRECONDITION)
# When queues were last polled is kept this long (the longest window a query looks back).
_POLL_MEMORY_MS = 60_000
# A partition never assigned has no fresh tasks (unit tests feed records without assigning).
_NEVER_FRESH = 2**63

WorkflowStartedSink = Callable[[RecordWorkflowTaskStarted], Awaitable[bool]]
StickyUnavailableSink = Callable[[StickyWorkerUnavailable], None]


class Dispatcher:
    """Serves long-polls from the queues and dispatches the tasks they get.

    Args:
        queues: The queue state; only this dispatcher touches it.
        history: Client for RecordWorkflowTaskStarted and RecordActivityTaskStarted.
        clock: Epoch milliseconds.
        n_tq_partitions: Partitions of a normal task queue.
        history_timeout: Upper bound, seconds, of one RecordWorkflowTaskStarted call.
        on_optimistic_start: Puts an optimistic RecordWorkflowTaskStarted into the inbox and
            returns True once Kafka acknowledged it; None turns optimistic starts off.
        on_sticky_unavailable: Called, instead of queueing it, with a sticky workflow task
            whose queue has no worker (see `matching_processor.pollers`); must not block.
            None keeps every sticky task on its queue.
        on_undecodable: Called with a task record that cannot be decoded (dead letter).
        on_reload: Called with spilled offsets to read again (`matching_processor.reloader`),
            whose records come back through `on_reloaded`; must not block.
    """

    def __init__(
        self,
        queues: TaskQueues,
        history: HistoryCaller,
        clock: Callable[[], int],
        n_tq_partitions: int = DEFAULT_TQ_PARTITIONS,
        history_timeout: float = 10.0,
        on_optimistic_start: WorkflowStartedSink | None = None,
        on_sticky_unavailable: StickyUnavailableSink | None = None,
        on_undecodable: Callable[[RawTask, str], None] | None = None,
        on_reload: Callable[[dict[int, list[int]]], None] | None = None,
    ) -> None:
        self._queues = queues
        self._history = history
        self._clock = clock
        self._n_tq_partitions = n_tq_partitions
        self._history_timeout = history_timeout
        self._on_optimistic_start = on_optimistic_start
        self._on_sticky_unavailable = on_sticky_unavailable
        self._on_undecodable = on_undecodable
        self._on_reload = on_reload
        self.pollers = PollerHistory()
        self.dispatch_rates = DispatchRates()
        self._unloaded: dict[QueueKey, int] = {}
        self._futures: dict[Poller, asyncio.Future[QueuedTask | QueryTask | None]] = {}
        self._request_ids: dict[QueuedTask, str] = {}
        self._fresh_from: dict[int, int] = {}
        self._closed = False
        self.queries = QueryTasks(queues, history, clock, self._resolve, history_timeout)
        """Query tasks: QueryWorkflow and RespondQueryTaskCompleted of this process."""

    @property
    def metrics(self) -> MatchingMetrics:
        """Counters: sync matches, backlog dispatches, expired, stale, requeued tasks."""
        return self._queues.metrics

    def backlog_size(self, namespace: str, task_queue: str, task_kind: str) -> int:
        """Tasks in the backlogs of all partitions of a normal queue."""
        return sum(
            self._queues.backlog_len(k) for k in self._normal_keys(namespace, task_queue, task_kind)
        )

    def waiting_polls(self, namespace: str, task_queue: str, task_kind: str) -> int:
        """Polls waiting on a normal queue."""
        keys = set(self._normal_keys(namespace, task_queue, task_kind))
        return sum(1 for p in self._futures if keys.intersection(p.keys))

    def close(self) -> None:
        """Answers every waiting poll empty and every later one at once."""
        self._closed = True
        self.queries.close()
        for poller, fut in list(self._futures.items()):
            if self._queues.cancel(poller) and not fut.done():
                fut.set_result(None)

    # -- polls -------------------------------------------------------------------------------

    async def poll_workflow_task(
        self, request: wsv1.PollWorkflowTaskQueueRequest, time_remaining: float | None
    ) -> wsv1.PollWorkflowTaskQueueResponse:
        """Long-polls a workflow task; an empty response when none came in time.

        Args:
            request: The worker's poll, as the frontend received it.
            time_remaining: Seconds until the caller's deadline, or None.
        """
        keys = self._keys(request, WORKFLOW, dispatch.is_sticky(request.task_queue))
        # Temporal notes a poller when its poll arrives and again when it ends (not when it
        # is cancelled, or ended by an unload: the worker went away).
        since_ms = self._note_poller(keys, request)
        response = await self._poll_workflow(keys, request, time_remaining)
        metrics.poll_done(
            WORKFLOW, dispatch.is_sticky(request.task_queue), bool(response.task_token)
        )
        self._note_poller(keys, request, since_ms)
        return response

    async def _poll_workflow(
        self,
        keys: tuple[QueueKey, ...],
        request: wsv1.PollWorkflowTaskQueueRequest,
        time_remaining: float | None,
    ) -> wsv1.PollWorkflowTaskQueueResponse:
        loop = asyncio.get_running_loop()
        hard_deadline = None if time_remaining is None else loop.time() + time_remaining
        deadline = loop.time() + dispatch.long_poll_seconds(time_remaining)
        while (remaining := deadline - loop.time()) > 0:
            task = await self._next_task(keys, remaining)
            if task is None:
                break
            if isinstance(task, QueryTask):
                response = await self.queries.start(task, request)
            else:
                response = await self._start_workflow_task(task, request, hard_deadline)
            if response is not None:
                return response
        return wsv1.PollWorkflowTaskQueueResponse()

    async def poll_activity_task(
        self, request: wsv1.PollActivityTaskQueueRequest, time_remaining: float | None
    ) -> wsv1.PollActivityTaskQueueResponse:
        """Long-polls an activity task; an empty response when none came in time.

        Args:
            request: The worker's poll, as the frontend received it.
            time_remaining: Seconds until the caller's deadline, or None.
        """
        keys = self._keys(request, ACTIVITY, sticky=False)
        since_ms = self._note_poller(keys, request)
        response = await self._poll_activity(keys, request, time_remaining)
        metrics.poll_done(ACTIVITY, False, bool(response.task_token))
        self._note_poller(keys, request, since_ms)
        return response

    async def _poll_activity(
        self,
        keys: tuple[QueueKey, ...],
        request: wsv1.PollActivityTaskQueueRequest,
        time_remaining: float | None,
    ) -> wsv1.PollActivityTaskQueueResponse:
        loop = asyncio.get_running_loop()
        hard_deadline = None if time_remaining is None else loop.time() + time_remaining
        deadline = loop.time() + dispatch.long_poll_seconds(time_remaining)
        queue = (request.namespace, keys[0].task_queue)
        if request.task_queue_metadata.HasField("max_tasks_per_second"):
            rate = request.task_queue_metadata.max_tasks_per_second.value
            self.dispatch_rates.set_rate(*queue, rate, loop.time())
        while (remaining := deadline - loop.time()) > 0:
            task = await self._next_task(keys, remaining)
            if task is None:
                break
            if isinstance(task, QueryTask):  # queries wait on workflow queues only
                self.queries.requeue(task)
                continue
            if not await self._await_dispatch_slot(queue, task, deadline):
                break
            response = await self._start_activity_task(task, request, hard_deadline)
            if response is not None:
                return response
        return wsv1.PollActivityTaskQueueResponse()

    async def _await_dispatch_slot(
        self, queue: tuple[str, str], task: QueuedTask, deadline: float
    ) -> bool:
        """Waits until the queue's dispatch rate lets ``task`` out; False (the task requeued)
        when that is past the poll's deadline or the poll is cancelled meanwhile."""
        loop = asyncio.get_running_loop()
        delay = self.dispatch_rates.reserve(*queue, loop.time())
        if delay <= 0:
            return True
        if loop.time() + delay >= deadline:
            self.dispatch_rates.cancel(*queue, loop.time())
            self._requeue(task)
            return False
        try:
            await asyncio.sleep(delay)
        except asyncio.CancelledError:
            self.dispatch_rates.cancel(*queue, loop.time())
            self._requeue(task)
            raise
        return True

    def _note_poller(
        self, keys: tuple[QueueKey, ...], request: Any, since_ms: int | None = None
    ) -> int:
        """Records the poll's worker; at the end of a poll (`since_ms`: when it began) only
        if its queue was not unloaded meanwhile. Returns the time recorded."""
        now_ms = self._clock()
        if since_ms is not None and any(self._unloaded.get(k, -1) >= since_ms for k in keys):
            return now_ms
        self.pollers.record(keys, dispatch.poller_record(request, now_ms))
        return now_ms

    # -- task-queue administration -------------------------------------------------------------

    def describe(self, request: wsv1.DescribeTaskQueueRequest) -> wsv1.DescribeTaskQueueResponse:
        """This process's part of a DescribeTaskQueue answer (`matching_processor.describe`)."""
        return describe_local(
            self._queues, self.pollers, request, self._clock(), self._n_tq_partitions
        )

    def release_sticky_queue(self, namespace: str, task_queue: str) -> int:
        """Unloads a worker's sticky queue (ShutdownWorker): its waiting polls answer empty
        and it has no worker any more, so its next tasks go to the normal queue.

        Returns:
            How many waiting polls were ended.
        """
        key = routing.poll_keys(namespace, task_queue, WORKFLOW, True)[0]
        now_ms = self._clock()
        # Polls end within a minute; older unload marks can no longer matter.
        horizon = now_ms - 2 * int(dispatch.MAX_LONG_POLL_SECONDS * 1000)
        self._unloaded = {k: t for k, t in self._unloaded.items() if t >= horizon}
        self._unloaded[key] = now_ms
        self.pollers.forget(key)
        ended = 0
        for poller, fut in list(self._futures.items()):
            if key in poller.keys and self._queues.cancel(poller) and not fut.done():
                fut.set_result(None)
                ended += 1
        return ended

    def _sticky_available(self, key: QueueKey, now_ms: int) -> bool:
        """Temporal's stickyWorkerAvailable: a poll waits on the queue, or one ended lately."""
        if self._queues.waiting_pollers(key):
            return True
        last = self.pollers.last_access_ms(key)
        return last is not None and now_ms - last < STICKY_UNAVAILABLE_AFTER_MS

    def _keys(self, request: Any, kind: str, sticky: bool) -> tuple[QueueKey, ...]:
        return routing.poll_keys(
            request.namespace, request.task_queue.name, kind, sticky, self._n_tq_partitions
        )

    def _normal_keys(self, namespace: str, task_queue: str, kind: str) -> tuple[QueueKey, ...]:
        return routing.poll_keys(namespace, task_queue, kind, False, self._n_tq_partitions)

    async def _next_task(
        self, keys: tuple[QueueKey, ...], wait: float
    ) -> QueuedTask | QueryTask | None:
        if self._closed:
            return None
        poller = Poller(keys)
        task = self._queues.poll(poller, self._clock())
        if task is not None:
            return task
        fut: asyncio.Future[QueuedTask | QueryTask | None] = (
            asyncio.get_running_loop().create_future()
        )
        self._futures[poller] = fut
        try:
            # asyncio.wait, unlike wait_for, never cancels fut: a match that lands just as the
            # wait ends is still seen below instead of being lost.
            await asyncio.wait({fut}, timeout=wait)
        except asyncio.CancelledError:
            self._withdraw(poller, fut)
            raise
        if not fut.done():
            self._withdraw(poller, fut)
            return None
        self._futures.pop(poller, None)
        return fut.result()

    def _withdraw(self, poller: Poller, fut: asyncio.Future[QueuedTask | QueryTask | None]) -> None:
        self._futures.pop(poller, None)
        if not fut.done():
            self._queues.cancel(poller, self._clock())
            fut.cancel()
            return
        task = fut.result()
        if isinstance(task, QueryTask):
            self.queries.requeue(task)
        elif task is not None:
            # Matched, but the poller is gone: the task goes back for the next one.
            self._requeue(task)

    async def _start_workflow_task(
        self,
        task: QueuedTask,
        request: wsv1.PollWorkflowTaskQueueRequest,
        hard_deadline: float | None,
    ) -> wsv1.PollWorkflowTaskQueueResponse | None:
        record = task.record
        request_id = self._request_ids.setdefault(task, uuid.uuid4().hex)
        # An optimistic start answers before history checks the task, so only a task no
        # earlier owner of its partition can have handed out may take it (`fresh`): a task
        # read again after a crash or a rebalance goes through history like any other.
        if record["payload"] and task.fresh and self._on_optimistic_start is not None:
            now_ms = self._clock()
            response = prepared.finish(record["payload"], request, request_id, now_ms)
            # A speculative task's template carries its updates; history checks they still
            # are the run's admitted ones.
            update_ids = tuple(m.protocol_instance_id for m in response.messages)
            started = RecordWorkflowTaskStarted.for_task(
                record, request, request_id, now_ms, update_ids, response.started_event_id
            )
            task.optimistic = True
            if await self._on_optimistic_start(started):
                self._complete(task)
                return response
            task.optimistic = False
            self._requeue(task)
            return None
        message = RecordWorkflowTaskStarted.for_task(record, request, request_id)
        reply = await self._record_start(task, RECORD_WORKFLOW_TASK_STARTED, message, hard_deadline)
        if reply is None:
            return None
        return wsv1.PollWorkflowTaskQueueResponse.FromString(reply.payload)

    async def _start_activity_task(
        self,
        task: QueuedTask,
        request: wsv1.PollActivityTaskQueueRequest,
        hard_deadline: float | None,
    ) -> wsv1.PollActivityTaskQueueResponse | None:
        try:
            response = dispatch.activity_response(task.record, self._clock())
        except ValueError:
            log.exception("dropping activity task with a bad payload at offset %d", task.offset)
            self._complete(task)
            return None
        request_id = self._request_ids.setdefault(task, uuid.uuid4().hex)
        message = ActivityTaskStarted.for_task(
            task.record, request.identity, request_id, response.started_time.ToMilliseconds()
        )
        reply = await self._record_start(task, RECORD_ACTIVITY_TASK_STARTED, message, hard_deadline)
        return None if reply is None else response

    async def _record_start(
        self,
        task: QueuedTask,
        kind: str,
        message: RecordWorkflowTaskStarted | ActivityTaskStarted,
        hard_deadline: float | None,
    ) -> Reply | None:
        """Asks history to record the start (Temporal's RecordWorkflowTaskStarted /
        RecordActivityTaskStarted); the OK reply, or None when the poller gets nothing.

        OK completes the task. A transient failure puts it back (a retry reuses its request
        id, which history answers idempotently); any other status drops it as stale
        (NOT_FOUND: gone or completed; ALREADY_EXISTS: another dispatch started it;
        FAILED_PRECONDITION: an activity task whose stamp is no longer the activity's).
        """
        record = task.record
        timeout = self._history_timeout
        if hard_deadline is not None:
            left = hard_deadline - asyncio.get_running_loop().time() - 0.2
            timeout = min(timeout, max(_MIN_HISTORY_TIMEOUT, left))
        try:
            reply = await self._history.call(
                record["namespace"], record["workflow_id"], kind, message, timeout
            )
        except asyncio.CancelledError:
            self._complete(task)
            raise
        except Exception as exc:
            log.warning("%s for %s failed: %r", kind, record["workflow_id"], exc)
            self._requeue(task)
            await asyncio.sleep(_RETRY_PAUSE_SECONDS)
            return None
        if reply.status_code == Code.OK:
            self._complete(task)
            return reply
        if reply.status_code in TRANSIENT_CODES:
            log.warning("%s got transient status %d", kind, reply.status_code)
            self._requeue(task)
            await asyncio.sleep(_RETRY_PAUSE_SECONDS)
            return None
        if reply.status_code not in _STALE_CODES:
            log.warning(
                "dropping %s task of %s: status %d %s",
                record["task_kind"],
                record["workflow_id"],
                reply.status_code,
                reply.message,
            )
        self._complete(task, stale=reply.status_code in _STALE_CODES)
        return None

    # -- queue state -------------------------------------------------------------------------

    def on_records(self, records: Iterable[RawTask]) -> None:
        """Takes task records read from Kafka, in offset order per partition."""
        now_ms = self._clock()
        for raw in records:
            try:
                record = schemas.decode(raw.value or b"", schemas.TASK_RECORD)
            except schemas.SchemaError as exc:
                log.exception("undecodable task record %d@%d", raw.offset, raw.partition)
                if self._on_undecodable is not None:
                    self._on_undecodable(raw, f"undecodable task record: {exc}")
                self._queues.skip(raw.partition, raw.offset)
                continue
            if self._queues.skip_finished(raw.partition, QueueKey.of(record), raw.offset):
                continue
            metrics.task_arrived(record, now_ms)
            if self._redirect_sticky(record, raw, now_ms):
                continue
            fresh = raw.offset >= self._fresh_from.get(raw.partition, _NEVER_FRESH)
            task = QueuedTask(record, raw.partition, raw.offset, fresh=fresh)
            self._resolve(self._queues.offer(task, now_ms))

    def on_reloaded(self, records: Iterable[RawTask], missed: dict[int, list[int]]) -> None:
        """Takes spilled task records read again, and the offsets that could not be read."""
        now_ms = self._clock()
        for raw in records:
            try:
                record = schemas.decode(raw.value or b"", schemas.TASK_RECORD)
            except schemas.SchemaError:
                continue  # it was decodable when first read; a changed record is not ours
            fresh = raw.offset >= self._fresh_from.get(raw.partition, _NEVER_FRESH)
            task = QueuedTask(record, raw.partition, raw.offset, fresh=fresh)
            self._resolve(self._queues.reload(task, now_ms))
        for part, offsets in missed.items():
            self._queues.reload_missed(part, offsets)

    def assign(self, partitions: dict[int, tuple[int, Progress | None]]) -> None:
        """Starts partitions just assigned.

        Args:
            partitions: For each, (its end offset at assignment: tasks from there on are
                `fresh`; what its previous owner finished, or None).
        """
        for part, (end_offset, restored) in partitions.items():
            self._fresh_from[part] = end_offset
            self._queues.assign(part, restored)

    def progress(self) -> dict[int, Progress]:
        """The per-queue progress of every partition, to persist before committing."""
        return self._queues.progress()

    def _redirect_sticky(self, record: dict[str, Any], raw: RawTask, now_ms: int) -> bool:
        """Hands a sticky workflow task without a worker back to history (True), which sends
        it to the normal queue, as Temporal's matching refuses it with StickyWorkerUnavailable."""
        if (
            self._on_sticky_unavailable is None
            or record["task_kind"] != WORKFLOW
            or record["task_queue_kind"] != STICKY
            or self._sticky_available(QueueKey.of(record), now_ms)
        ):
            return False
        self._queues.skip(raw.partition, raw.offset)
        self._on_sticky_unavailable(dispatch.sticky_unavailable_message(record))
        return True

    def revoke(self, partitions: set[int]) -> dict[int, Progress]:
        """Forgets revoked partitions; returns their final progress to persist and commit."""
        final = {p: wm for p, wm in self._queues.progress().items() if p in partitions}
        for part in partitions:
            self._fresh_from.pop(part, None)
        for poller in self._queues.revoke(partitions):
            fut = self._futures.get(poller)
            if fut is not None and not fut.done():
                fut.set_result(None)
        return final

    def watermarks(self) -> dict[int, int]:
        """The low watermark of every partition read so far."""
        return self._queues.watermarks()

    def expire(self) -> int:
        """Drops backlog tasks whose schedule-to-start timeout passed, and asks for spilled
        tasks of drained backlogs to be read again; returns how many were dropped."""
        now_ms = self._clock()
        self._queues.forget_polls_before(now_ms - _POLL_MEMORY_MS)
        if self._on_reload is not None:
            wanted = self._queues.reload_requests()
            if wanted:
                self._on_reload(wanted)
        return self._queues.expire_tasks(now_ms)

    def _complete(self, task: QueuedTask, stale: bool = False) -> None:
        self._request_ids.pop(task, None)
        self._queues.complete(task, stale=stale)

    def _requeue(self, task: QueuedTask) -> None:
        self._resolve(self._queues.requeue(task, self._clock()))

    def _resolve(self, poller: Poller | None) -> None:
        if poller is None:
            return
        fut = self._futures.get(poller)
        if fut is not None and not fut.done():
            fut.set_result(poller.task)
