"""Two workflows, each on Strom and on the Temporal dev server, in one run.

The workloads: one no-op activity per workflow (`activity`), and a 100 ms durable timer plus
a signal the client sends right after the start (`timer-signal`). For each server, workload
and concurrency C it runs N workflows with the same official-SDK worker and client (in this
process) and prints workflows/s, p50/p99 start-to-result latency and the CPU seconds the
server side spent per 1,000 workflows: for Strom every process (Kafka, Elasticsearch,
history, matching, indexer, frontend); for Temporal the dev server process.

Each load starts with the same warm-up on every server (300 workflows, 10 at a time), then
waits until the server side is near idle (under 0.3 core busy) before the timed part.

Usage: python bench/bench_workflows.py [--c1 100] [--c100 1000] [--only strom|temporal]
           [--workload activity|timer-signal] (repeatable; default both)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "bench")]

from noop_workflow import NoopActivityWorkflow, noop  # noqa: E402
from temporalio.client import Client  # noqa: E402
from temporalio.worker import Worker  # noqa: E402
from timer_signal_workflow import TimerSignalWorkflow  # noqa: E402

from schemas.topics import Topology  # noqa: E402
from strom._devserver import DevCluster, free_port  # noqa: E402
from strom._devserver.process import descendants  # noqa: E402
from strom._services import ServiceSet  # noqa: E402
from tests.servers import TemporalDevServer  # noqa: E402

_TICK = os.sysconf("SC_CLK_TCK")
WARM_UP = 300


def cpu_seconds(pids: list[int]) -> float:
    """User+system CPU of the processes and all their live descendants."""
    total = 0
    seen: set[int] = set()
    for pid in pids:
        for member in [pid, *(child for child, _ in descendants(pid))]:
            if member in seen:
                continue
            seen.add(member)
            try:
                fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / _TICK


async def run_activity(client: Client, workflow_id: str, task_queue: str) -> None:
    """One workflow of the `activity` workload, start to result."""
    await client.execute_workflow(NoopActivityWorkflow.run, id=workflow_id, task_queue=task_queue)


async def run_timer_signal(client: Client, workflow_id: str, task_queue: str) -> None:
    """One workflow of the `timer-signal` workload: start, signal, result."""
    handle = await client.start_workflow(
        TimerSignalWorkflow.run, id=workflow_id, task_queue=task_queue
    )
    await handle.signal(TimerSignalWorkflow.go)
    await handle.result()


WORKLOADS: dict[str, Callable[[Client, str, str], Awaitable[None]]] = {
    "activity": run_activity,
    "timer-signal": run_timer_signal,
}


async def run_load(
    client: Client, workload: str, count: int, concurrency: int, pids: list[int]
) -> tuple[float, list[float], float]:
    """Runs `count` workflows of `workload`, `concurrency` at a time, after a warm-up.

    Returns:
        Seconds, latencies in seconds, and the server-side CPU seconds of the timed part.
    """
    run_one = WORKLOADS[workload]
    tq = f"bench-{uuid.uuid4().hex[:8]}"
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []

    async def one() -> None:
        async with gate:
            began = time.perf_counter()
            await run_one(client, f"bench-{uuid.uuid4()}", tq)
            latencies.append(time.perf_counter() - began)

    async with Worker(
        client,
        task_queue=tq,
        workflows=[NoopActivityWorkflow, TimerSignalWorkflow],
        activities=[noop],
        max_concurrent_workflow_tasks=max(concurrency, 5),
        max_concurrent_activities=max(concurrency, 5),
    ):
        # Warm-up, the same for every server: JIT compilation (Kafka and Elasticsearch run on
        # the JVM), caches, connections, sticky queues.
        warm = asyncio.Semaphore(10)

        async def warm_one() -> None:
            async with warm:
                await run_one(client, f"warm-{uuid.uuid4()}", tq)

        await asyncio.gather(*(warm_one() for _ in range(WARM_UP)))
        await settle(pids)
        cpu_before = cpu_seconds(pids)
        began = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(count)))
        seconds = time.perf_counter() - began
        return seconds, latencies, cpu_seconds(pids) - cpu_before


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def settle(pids: list[int], limit: float = 60.0) -> None:
    """Waits until the server side is near idle (start-up work done), at most `limit` s."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        before = cpu_seconds(pids)
        await asyncio.sleep(2)
        if (cpu_seconds(pids) - before) / 2 < 0.3:
            return


async def measure(
    name: str, client: Client, pids: list[int], loads: list[tuple[str, int, int]]
) -> None:
    for workload, concurrency, count in loads:
        seconds, latencies, cpu = await run_load(client, workload, count, concurrency, pids)
        print(
            f"{name:<9} {workload:<12} C={concurrency:<4} N={count:<5} "
            f"{count / seconds:7.1f} wf/s   "
            f"p50 {statistics.median(latencies) * 1000:7.0f} ms   "
            f"p99 {pct(latencies, 0.99) * 1000:7.0f} ms   "
            f"server CPU {cpu / count * 1000:6.1f} s per 1,000 workflows",
            flush=True,
        )


async def bench_strom(loads: list[tuple[str, int, int]]) -> None:
    with tempfile.TemporaryDirectory(prefix="strom-bench-") as tmp:
        cluster = DevCluster(Path(tmp) / "cluster", kafka_port=free_port(), es_port=free_port())
        cluster.start()
        try:
            # As `strom server start-dev`: its topology, matching in the frontend's process.
            services = ServiceSet.start(
                cluster.kafka_bootstrap,
                cluster.es_url,
                Path(tmp),
                free_port(),
                topology=Topology.dev(),
                matching_in_frontend=True,
            )
            try:
                pids = [p.pid for p in services.processes.values()]
                pids += [n.process.pid for n in (cluster.kafka, cluster.elasticsearch) if n.process]
                client = await Client.connect(services.target)
                await measure("strom", client, pids, loads)
            finally:
                services.stop()
        finally:
            cluster.stop()


async def bench_temporal(loads: list[tuple[str, int, int]]) -> None:
    async with TemporalDevServer() as dev:
        client = await dev.connect()
        assert dev._proc is not None
        await measure("temporal", client, [dev._proc.pid], loads)


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--c1", type=int, default=100, help="workflows at concurrency 1")
    parser.add_argument("--c100", type=int, default=1000, help="workflows at concurrency 100")
    parser.add_argument("--only", choices=["strom", "temporal"])
    parser.add_argument(
        "--workload", action="append", choices=sorted(WORKLOADS), help="(default: both)"
    )
    args = parser.parse_args()
    workloads = args.workload or list(WORKLOADS)
    loads = [(w, c, n) for w in workloads for c, n in ((1, args.c1), (100, args.c100))]
    print(f"{os.cpu_count()} cores; workloads {', '.join(workloads)}; SDK worker and client here")
    if args.only != "temporal":
        await bench_strom(loads)
    if args.only != "strom":
        await bench_temporal(loads)


if __name__ == "__main__":
    asyncio.run(main())
