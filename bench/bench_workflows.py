"""Two workflows, each on Strom and on the Temporal dev server, in one run.

The workloads: one no-op activity per workflow (`activity`), and a 100 ms durable timer plus
a signal the client sends right after the start (`timer-signal`). For each server, workload
and concurrency C it runs N workflows with the same official-SDK worker and client (in this
process) and prints workflows/s, p50/p99 start-to-result latency and the CPU seconds the
server side spent per 1,000 workflows: for Strom every process (Kafka, Elasticsearch,
history, matching, indexer, frontend); for Temporal the dev server process.

Every worker is the SDK's default one (100 workflow-task and 100 activity slots) unless
``--worker-slots`` says otherwise. The slots change what the SDK asks of a server: with 5, its
pollers hold every slot and it requests no eager activities, so each activity goes through the
server's matching instead of back with the workflow task's completion. Stops up to 29 ran C=1
with 5 slots; the dev server's p50 there is about 150 ms against about 100 ms with the defaults.

Both servers run side by side for the whole bench. Each load starts with the same warm-up on
every server (300 workflows, 10 at a time); its timed part is then split into rounds
(``--rounds``, 4 by default) that take turns between the servers, the first server of a round
alternating, and every round waits until the servers are near idle (under 0.3 core busy
together). On a shared machine whose speed drifts over minutes, each server thus meets the same
spells. The idle server of a round costs the busy one a little: idle Strom (Kafka, its
processes' polls) takes a few percent of a core, the idle dev server less.

Usage: python bench/bench_workflows.py [--c1 100] [--c100 1000] [--only strom|temporal]
           [--workload activity|timer-signal] (repeatable; default both) [--rounds 4]
           [--worker-slots N]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
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


@dataclass
class Target:
    """A server under load: its client, and the processes whose CPU is its cost."""

    name: str
    client: Client
    pids: list[int]


@dataclass
class Tally:
    """What the timed rounds of one load on one target added up to."""

    seconds: float = 0.0
    cpu: float = 0.0
    latencies: list[float] = field(default_factory=list)


async def run_round(
    target: Target,
    workload: str,
    count: int,
    concurrency: int,
    tq: str,
    tally: Tally,
    quiet: list[int],
) -> None:
    """Runs `count` workflows, `concurrency` at a time, once the `quiet` processes (every
    server's) are near idle."""
    run_one = WORKLOADS[workload]
    gate = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with gate:
            began = time.perf_counter()
            await run_one(target.client, f"bench-{uuid.uuid4()}", tq)
            tally.latencies.append(time.perf_counter() - began)

    await settle(quiet)
    cpu_before = cpu_seconds(target.pids)
    began = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(count)))
    tally.seconds += time.perf_counter() - began
    tally.cpu += cpu_seconds(target.pids) - cpu_before


async def warm_up(
    client: Client, run_one: Callable[[Client, str, str], Awaitable[None]], tq: str
) -> None:
    """WARM_UP workflows, 10 at a time."""
    gate = asyncio.Semaphore(10)

    async def warm_one() -> None:
        async with gate:
            await run_one(client, f"warm-{uuid.uuid4()}", tq)

    await asyncio.gather(*(warm_one() for _ in range(WARM_UP)))


async def run_load(
    targets: list[Target],
    workload: str,
    count: int,
    concurrency: int,
    rounds: int,
    slots: int | None = None,
) -> dict[str, Tally]:
    """Runs `count` workflows of `workload` on each target after the same warm-up, in
    `rounds` rounds that take turns between the targets (who goes first alternates), so a
    slower or faster spell of a shared machine falls on every target alike. The workers have
    `slots` workflow-task and activity slots each (None: the SDK's defaults)."""
    run_one = WORKLOADS[workload]
    tq = f"bench-{uuid.uuid4().hex[:8]}"
    tuning = {}
    if slots is not None:
        tuning = {"max_concurrent_workflow_tasks": slots, "max_concurrent_activities": slots}
    async with contextlib.AsyncExitStack() as stack:
        for target in targets:
            await stack.enter_async_context(
                Worker(
                    target.client,
                    task_queue=tq,
                    workflows=[NoopActivityWorkflow, TimerSignalWorkflow],
                    activities=[noop],
                    **tuning,
                )
            )
            # Warm-up, the same for every server: JIT compilation (Kafka and Elasticsearch run
            # on the JVM), caches, connections, sticky queues.
            await warm_up(target.client, run_one, tq)
        tallies = {target.name: Tally() for target in targets}
        every = [pid for target in targets for pid in target.pids]
        for n in range(rounds):
            share = count // rounds + (1 if n < count % rounds else 0)
            for target in targets if n % 2 == 0 else targets[::-1]:
                tally = tallies[target.name]
                await run_round(target, workload, share, concurrency, tq, tally, every)
        return tallies


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


@contextlib.asynccontextmanager
async def strom_target() -> AsyncIterator[Target]:
    """A fresh Strom laid out as `strom server start-dev` lays it out."""
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
                yield Target("strom", await Client.connect(services.target), pids)
            finally:
                services.stop()
        finally:
            cluster.stop()


@contextlib.asynccontextmanager
async def temporal_target() -> AsyncIterator[Target]:
    """A fresh Temporal dev server (`temporal server start-dev`)."""
    async with TemporalDevServer() as dev:
        client = await dev.connect()
        assert dev._proc is not None
        yield Target("temporal", client, [dev._proc.pid])


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
    parser.add_argument(
        "--rounds", type=int, default=4,
        help="rounds per load that take turns between the servers (1: each server's load "
        "in one go, one after the other)",
    )  # fmt: skip
    parser.add_argument(
        "--worker-slots", type=int, metavar="N",
        help="workflow-task and activity slots of each worker (default: the SDK's, 100 each)",
    )  # fmt: skip
    args = parser.parse_args()
    if args.worker_slots is not None and args.worker_slots < 2:
        parser.error("--worker-slots must be at least 2 (the SDK needs two for its cache)")
    if args.rounds < 1 or min(args.c1, args.c100) < args.rounds:
        parser.error("--rounds must be at least 1 and at most --c1 and --c100")
    workloads = args.workload or list(WORKLOADS)
    loads = [(w, c, n) for w in workloads for c, n in ((1, args.c1), (100, args.c100))]
    print(
        f"{os.cpu_count()} cores; workloads {', '.join(workloads)}; SDK worker and client here; "
        f"{args.rounds} rounds per load, taking turns; worker slots "
        f"{args.worker_slots or 'the SDK default'}",
        flush=True,
    )
    async with contextlib.AsyncExitStack() as stack:
        targets = []
        if args.only != "temporal":
            targets.append(await stack.enter_async_context(strom_target()))
        if args.only != "strom":
            targets.append(await stack.enter_async_context(temporal_target()))
        for workload, concurrency, count in loads:
            tallies = await run_load(
                targets, workload, count, concurrency, args.rounds, args.worker_slots
            )
            for name, tally in tallies.items():
                print(
                    f"{name:<9} {workload:<12} C={concurrency:<4} N={count:<5} "
                    f"{count / tally.seconds:7.1f} wf/s   "
                    f"p50 {statistics.median(tally.latencies) * 1000:7.0f} ms   "
                    f"p99 {pct(tally.latencies, 0.99) * 1000:7.0f} ms   "
                    f"server CPU {tally.cpu / count * 1000:6.1f} s per 1,000 workflows",
                    flush=True,
                )


if __name__ == "__main__":
    asyncio.run(main())
