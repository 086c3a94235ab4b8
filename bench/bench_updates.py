"""Update round trip on an idle workflow with a sticky worker, on Strom and the dev server.

For each server given, starts one workflow, waits until its first workflow task completed
(the worker then holds it in its sticky cache), and times N sequential `execute_update`
calls, each a speculative workflow task the worker accepts and completes; the servers take
turns, one update each, so a shared machine's load falls on all of them alike. Prints
p50/p99 per server, and the medians of two shares of it by the server's own event times
(`phases`: handing the task to the worker, and the worker's share).

Usage: python bench/bench_updates.py --server strom=127.0.0.1:7233
           --server temporal=127.0.0.1:7234 [--count 200]
Start the servers first (`strom server start-dev`, `temporal server start-dev`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "bench")]

from _servers import add_server_option, servers  # noqa: E402
from temporalio.api.enums.v1 import EventType  # noqa: E402
from temporalio.api.history.v1 import HistoryEvent  # noqa: E402
from temporalio.client import Client  # noqa: E402
from temporalio.worker import Worker  # noqa: E402
from update_workflow import CounterWorkflow  # noqa: E402

WARM_UP = 20


async def measure(targets: dict[str, str], count: int) -> dict[str, list[float]]:
    """Seconds of each of `count` update round trips per server, the servers taking turns.

    One update on each server in turn, so that every server sees the same machine load (the
    machine may be shared); each server has its own workflow, worker and sticky cache.
    """
    async with contextlib.AsyncExitStack() as stack:
        handles = {}
        for name, target in targets.items():
            client = await Client.connect(target)
            tq = f"bench-{uuid.uuid4().hex[:8]}"
            await stack.enter_async_context(
                Worker(client, task_queue=tq, workflows=[CounterWorkflow])
            )
            handles[name] = await client.start_workflow(
                CounterWorkflow.run, id=f"bench-update-{uuid.uuid4()}", task_queue=tq
            )
        for handle in handles.values():
            for _ in range(WARM_UP):
                await handle.execute_update(CounterWorkflow.bump)
        latencies: dict[str, list[float]] = {name: [] for name in handles}
        for _ in range(count):
            for name, handle in handles.items():
                began = time.perf_counter()
                await handle.execute_update(CounterWorkflow.bump)
                latencies[name].append(time.perf_counter() - began)
        for name, handle in handles.items():
            await handle.signal(CounterWorkflow.stop)
            if await handle.result() != WARM_UP + count:
                raise AssertionError("updates were lost")
            shares = phases([e async for e in handle.fetch_history_events()])
            dispatch = statistics.median(shares["dispatch"][-count:])
            worker = statistics.median(shares["worker"][-count:])
            rest = statistics.median(latencies[name]) * 1000 - dispatch - worker
            print(f"{name:10} dispatch {dispatch:.1f} ms  worker {worker:.1f} ms  "
                  f"rest (p50 minus both) {rest:.1f} ms")  # fmt: skip
    return latencies


def phases(events: list[HistoryEvent]) -> dict[str, list[float]]:
    """Two shares of each update's round trip, from the server's own event times (ms).

    Every accepted update on an idle run writes its speculative task's WorkflowTaskScheduled,
    Started and Completed, all stamped by the server:
    - dispatch: task scheduled -> started (the server hands the task to the waiting poll);
    - worker: task started -> completed (the poll answer to the worker, the worker's run of
      the handler, its completion back to the server).
    What is left of the round trip is the server admitting the update, the completion's
    commit and the reply, and the client's gRPC both ways.
    """
    shares: dict[str, list[float]] = {"dispatch": [], "worker": []}
    scheduled = started = None
    for event in events:
        at = event.event_time.ToMilliseconds()
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
            scheduled, started = at, None
        elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED and scheduled:
            shares["dispatch"].append(at - scheduled)
            started = at
        elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED and started:
            shares["worker"].append(at - started)
            scheduled = started = None
    return shares


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) of `values`."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q / 100))]


def main() -> None:
    """Prints p50/p99 of the update round trip per server."""
    parser = argparse.ArgumentParser(description=__doc__)
    add_server_option(parser)
    parser.add_argument("--count", type=int, default=200)
    args = parser.parse_args()
    targets = servers(parser, args)
    for name, latencies in asyncio.run(measure(targets, args.count)).items():
        print(
            f"{name:10} updates={len(latencies)} "
            f"p50={percentile(latencies, 50) * 1000:.1f} ms "
            f"p99={percentile(latencies, 99) * 1000:.1f} ms "
            f"mean={statistics.fmean(latencies) * 1000:.1f} ms"
        )


if __name__ == "__main__":
    main()
