"""Dispatch rates of activity task queues (``max_tasks_per_second`` of pollers)."""

from __future__ import annotations

import asyncio

from google.protobuf.wrappers_pb2 import DoubleValue
from temporalio.api.taskqueue.v1 import message_pb2 as tq_pb2
from temporalio.api.workflowservice.v1 import request_response_pb2 as wsv1

from matching_processor.dispatch_rate import DispatchRates
from schemas.inbox import RECORD_ACTIVITY_TASK_STARTED
from tests.unit.matching.test_matching_dispatcher import NS, Q, make, raw


def test_queues_without_a_rate_are_not_limited() -> None:
    rates = DispatchRates()

    assert [rates.reserve(NS, Q, 0.0) for _ in range(100)] == [0.0] * 100


def test_reservations_are_spaced_at_the_rate_after_the_burst() -> None:
    rates = DispatchRates()
    rates.set_rate(NS, Q, 2.0, now=0.0)  # burst 2

    delays = [rates.reserve(NS, Q, 0.0) for _ in range(5)]

    assert delays == [0.0, 0.0, 0.5, 1.0, 1.5]
    assert rates.reserve("other", Q, 0.0) == 0.0


def test_a_cancelled_reservation_frees_its_slot() -> None:
    rates = DispatchRates()
    rates.set_rate(NS, Q, 1.0, now=0.0)
    assert rates.reserve(NS, Q, 0.0) == 0.0
    assert rates.reserve(NS, Q, 0.0) == 1.0

    rates.cancel(NS, Q, 0.0)

    assert rates.reserve(NS, Q, 0.0) == 1.0


def test_the_latest_rate_wins_and_nonsense_is_ignored() -> None:
    rates = DispatchRates()
    rates.set_rate(NS, Q, 1.0, now=0.0)
    rates.set_rate(NS, Q, 0.0, now=0.0)
    rates.set_rate(NS, Q, float("inf"), now=0.0)
    assert rates.reserve(NS, Q, 0.0) == 0.0
    assert rates.reserve(NS, Q, 0.0) == 1.0  # still 1/s

    rates.set_rate(NS, Q, 4.0, now=0.0)

    assert rates.reserve(NS, Q, 10.0) == 0.0


def activity_poll(rate: float | None) -> wsv1.PollActivityTaskQueueRequest:
    request = wsv1.PollActivityTaskQueueRequest(
        namespace=NS, task_queue=tq_pb2.TaskQueue(name=Q), identity="w"
    )
    if rate is not None:
        request.task_queue_metadata.max_tasks_per_second.CopyFrom(DoubleValue(value=rate))
    return request


async def test_dispatcher_spaces_activity_tasks_at_the_pollers_rate() -> None:
    d, history = make()
    prebuilt = wsv1.PollActivityTaskQueueResponse(activity_id="a").SerializeToString()
    d.on_records([raw(i, f"wf-{i}", kind="activity", payload=prebuilt) for i in range(4)])
    loop = asyncio.get_running_loop()
    began = loop.time()

    handed_out = []
    for _ in range(4):
        response = await d.poll_activity_task(activity_poll(10.0), 5)  # burst 10: no wait
        handed_out.append(loop.time() - began)
        assert response.activity_id == "a"
    assert handed_out[-1] < 0.5

    d.on_records([raw(i, f"wf-{i}", kind="activity", payload=prebuilt) for i in range(4, 7)])
    d.dispatch_rates.set_rate(NS, Q, 10.0, loop.time())
    for _ in range(10):  # drain the burst
        d.dispatch_rates.reserve(NS, Q, loop.time())
    began = loop.time()
    polls = [asyncio.create_task(d.poll_activity_task(activity_poll(None), 5)) for _ in range(3)]
    await asyncio.gather(*polls)

    assert history.kinds.count(RECORD_ACTIVITY_TASK_STARTED) == 7  # each start recorded first
    # Three tasks behind an empty bucket at 10/s: the last leaves about 0.3 s later.
    assert loop.time() - began >= 0.25


async def test_a_poll_that_cannot_wait_for_its_slot_gives_the_task_back() -> None:
    d, history = make()
    prebuilt = wsv1.PollActivityTaskQueueResponse(activity_id="a").SerializeToString()
    d.on_records([raw(i, f"wf-{i}", kind="activity", payload=prebuilt) for i in range(2)])
    await d.poll_activity_task(activity_poll(0.01), 5)  # takes the only token

    # The next slot is 100 s away, beyond this poll's deadline (2 s minus the 1 s margin).
    response = await d.poll_activity_task(activity_poll(0.01), 2)

    assert response.activity_id == ""
    assert history.kinds.count(RECORD_ACTIVITY_TASK_STARTED) == 1
    assert d.backlog_size(NS, Q, "activity") == 1
