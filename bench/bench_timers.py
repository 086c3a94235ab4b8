"""Timer fire accuracy: N timers pending on one history shard, firing in one time window.

Starts a Strom cluster as bench/bench_workflows.py does (and, with --dev, the Temporal dev
server for reference), runs W workflows whose ids all land on history shard 0, each starting
T timers at once (N = W * T), all aimed at wall-clock instants spread evenly over a window
that begins after every timer is pending. When all runs are done it reads their histories and
prints how late each timer fired: TimerFired's event time minus the time it was due
(TimerStarted's event time + start_to_fire_timeout), p50 / p99 / max.

Usage: python bench/bench_timers.py [--workflows 100] [--timers 10] [--window 5] [--dev]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "bench")]

from temporalio.api.enums.v1 import EventType  # noqa: E402
from temporalio.api.history.v1 import HistoryEvent  # noqa: E402
from temporalio.client import Client, WorkflowHandle  # noqa: E402
from temporalio.worker import Worker  # noqa: E402
from timers_workflow import FireAtWorkflow  # noqa: E402

from schemas.placement import shard_for  # noqa: E402
from schemas.topics import Topology  # noqa: E402
from strom._devserver import DevCluster, free_port  # noqa: E402
from strom._services import ServiceSet  # noqa: E402
from tests.servers import TemporalDevServer  # noqa: E402

NAMESPACE = "default"
#: Default seconds between the launch and the window's start: every run must have started
#: its timers by then (the output says whether they had).
LEAD_S = 15.0


def ids_on_shard_zero(count: int, shards: int) -> list[str]:
    """`count` fresh workflow ids whose history shard is 0."""
    out: list[str] = []
    while len(out) < count:
        candidate = f"timers-{uuid.uuid4().hex[:12]}"
        if shard_for(NAMESPACE, candidate, shards) == 0:
            out.append(candidate)
    return out


def lateness_ms(events: list[HistoryEvent]) -> tuple[list[float], int, int]:
    """Lateness of every fired timer, the last TimerStarted and first TimerFired times (ns)."""
    started = {e.event_id: e for e in events if e.event_type == EventType.EVENT_TYPE_TIMER_STARTED}
    late: list[float] = []
    first_fired = 2**63
    for event in events:
        if event.event_type != EventType.EVENT_TYPE_TIMER_FIRED:
            continue
        start = started[event.timer_fired_event_attributes.started_event_id]
        timeout = start.timer_started_event_attributes.start_to_fire_timeout.ToNanoseconds()
        due = start.event_time.ToNanoseconds() + timeout
        late.append((event.event_time.ToNanoseconds() - due) / 1e6)
        first_fired = min(first_fired, event.event_time.ToNanoseconds())
    last_started = max((e.event_time.ToNanoseconds() for e in started.values()), default=0)
    return late, last_started, first_fired


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run_timers(name: str, client: Client, shards: int, args: argparse.Namespace) -> None:
    workflows, timers, window_s = args.workflows, args.timers, args.window
    tq = f"timers-{uuid.uuid4().hex[:8]}"
    total = workflows * timers
    begin = time.time() + args.lead
    # Timer k of all N fires at begin + k/N * window; workflow w gets k = w, w + W, w + 2W, ...
    targets = [
        [begin + (w + i * workflows) * window_s / total for i in range(timers)]
        for w in range(workflows)
    ]
    async with Worker(
        client,
        task_queue=tq,
        workflows=[FireAtWorkflow],
        max_concurrent_workflow_tasks=100,
    ):
        handles: list[WorkflowHandle] = []
        for workflow_id, mine in zip(ids_on_shard_zero(workflows, shards), targets, strict=True):
            handles.append(
                await client.start_workflow(FireAtWorkflow.run, mine, id=workflow_id, task_queue=tq)
            )
        await asyncio.wait_for(
            asyncio.gather(*(h.result() for h in handles)), args.lead + window_s + 120
        )
    late: list[float] = []
    last_started, first_fired = 0, 2**63
    for handle in handles:
        mine, started, fired = lateness_ms(list((await handle.fetch_history()).events))
        late.extend(mine)
        last_started, first_fired = max(last_started, started), min(first_fired, fired)
    assert len(late) == total, f"{len(late)} of {total} timers fired"
    pending = "all pending at once" if last_started < first_fired else "NOT all pending at once"
    print(
        f"{name:<9} N={total} ({workflows} workflows x {timers}) over {window_s:g} s, {pending}: "
        f"late p50 {statistics.median(late):6.1f} ms   p99 {pct(late, 0.99):6.1f} ms   "
        f"max {max(late):6.1f} ms   over 50 ms: {sum(x > 50 for x in late)}",
        flush=True,
    )


async def bench_strom(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="strom-bench-") as tmp:
        cluster = DevCluster(Path(tmp) / "cluster", kafka_port=free_port(), es_port=free_port())
        cluster.start()
        try:
            topology = Topology()
            services = ServiceSet.start(
                cluster.kafka_bootstrap, cluster.es_url, Path(tmp), free_port(), topology
            )
            try:
                client = await Client.connect(services.target)
                for _ in range(args.rounds):
                    await run_timers("strom", client, topology.shards, args)
            finally:
                services.stop()
                if args.keep_logs:
                    shutil.copytree(services.log_dir, args.keep_logs, dirs_exist_ok=True)
        finally:
            cluster.stop()


async def bench_temporal(args: argparse.Namespace) -> None:
    async with TemporalDevServer() as dev:
        client = await dev.connect()
        for _ in range(args.rounds):
            # The dev server has one history shard.
            await run_timers("temporal", client, 1, args)


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--workflows", type=int, default=100, help="workflows (W)")
    parser.add_argument("--timers", type=int, default=10, help="timers per workflow (T)")
    parser.add_argument("--window", type=float, default=5.0, help="seconds the fires spread over")
    parser.add_argument("--lead", type=float, default=LEAD_S, help="seconds before the window")
    parser.add_argument("--rounds", type=int, default=1, help="repetitions per server")
    parser.add_argument("--keep-logs", type=Path, help="copy Strom's service logs here")
    parser.add_argument("--dev", action="store_true", help="also run on the Temporal dev server")
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores; SDK worker and client here; lateness from event times")
    await bench_strom(args)
    if args.dev:
        await bench_temporal(args)


if __name__ == "__main__":
    asyncio.run(main())
