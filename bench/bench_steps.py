"""Where a one-activity workflow's latency goes, step by step, on Strom and the dev server.

For each server given, runs N workflows of one no-op activity (`noop_workflow.py`) one at a
time, the servers taking turns (so a shared machine's load falls on all of them alike), and
prints the median of each step by the server's own event times:

    start -> first event     the client's StartWorkflowExecution until WorkflowExecutionStarted
    task 1 scheduled->started, started->completed
    activity scheduled->completed   (eager: started in the completion's reply)
    task 2 scheduled->started, started->completed
    close -> result          WorkflowExecutionCompleted until the client has the result

Client-side instants use this machine's clock, the same clock the servers stamp with.

Usage: python bench/bench_steps.py --server strom=127.0.0.1:7233
           --server temporal=127.0.0.1:7234 [--count 40]
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
from noop_workflow import NoopActivityWorkflow, noop  # noqa: E402
from temporalio.client import Client  # noqa: E402
from temporalio.worker import Worker  # noqa: E402

WARM_UP = 5
STEPS = [
    "start -> first event",
    "task 1 scheduled -> started",
    "task 1 started -> completed",
    "activity scheduled -> completed",
    "task 2 scheduled -> started",
    "task 2 started -> completed",
    "close -> result",
    "total",
]


def steps(times: list[int], began_ms: float, ended_ms: float) -> list[float]:
    """The STEPS of one run from its event times, in the order of the history:
    1 started, 2 task scheduled, 3 started, 4 completed, 5 activity scheduled, 6 started,
    7 completed, 8 task scheduled, 9 started, 10 completed, 11 workflow completed."""
    if len(times) != 11:
        raise ValueError(f"expected the 11 events of one eager activity, got {len(times)}")
    return [
        times[0] - began_ms,
        times[2] - times[1],
        times[3] - times[2],
        times[6] - times[4],
        times[8] - times[7],
        times[9] - times[8],
        ended_ms - times[10],
        ended_ms - began_ms,
    ]


async def measure(targets: dict[str, str], count: int) -> dict[str, list[list[float]]]:
    """Per server, the steps of each timed workflow."""
    out: dict[str, list[list[float]]] = {name: [] for name in targets}
    async with contextlib.AsyncExitStack() as stack:
        clients = {}
        for name, target in targets.items():
            client = await Client.connect(target)
            tq = f"steps-{uuid.uuid4().hex[:8]}"
            await stack.enter_async_context(
                Worker(client, task_queue=tq, workflows=[NoopActivityWorkflow], activities=[noop])
            )
            clients[name] = (client, tq)
        for i in range(WARM_UP + count):
            for name, (client, tq) in clients.items():
                began = time.time() * 1000
                handle = await client.start_workflow(
                    NoopActivityWorkflow.run, id=f"steps-{uuid.uuid4()}", task_queue=tq
                )
                await handle.result()
                ended = time.time() * 1000
                if i < WARM_UP:
                    continue
                events = [e async for e in handle.fetch_history_events()]
                times = [e.event_time.ToMilliseconds() for e in events]
                out[name].append(steps(times, began, ended))
    return out


def main() -> None:
    """Prints the median of each step per server."""
    parser = argparse.ArgumentParser(description=__doc__)
    add_server_option(parser)
    parser.add_argument("--count", type=int, default=40)
    args = parser.parse_args()
    targets = servers(parser, args)
    runs = asyncio.run(measure(targets, args.count))
    print(f"{'step (median ms)':<34}" + "".join(f"{name:>12}" for name in runs))
    for index, step in enumerate(STEPS):
        row = "".join(f"{statistics.median(r[index] for r in runs[n]):12.1f}" for n in runs)
        print(f"{step:<34}{row}")


if __name__ == "__main__":
    main()
