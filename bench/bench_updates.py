"""Update round trip on an idle workflow with a sticky worker, on Strom and the dev server.

For each server given, starts one workflow, waits until its first workflow task completed
(the worker then holds it in its sticky cache), and times N sequential `execute_update`
calls, each a speculative workflow task the worker accepts and completes. Prints p50/p99.

Usage: python bench/bench_updates.py --server strom=127.0.0.1:7233
           --server temporal=127.0.0.1:7234 [--count 200]
Start the servers first (`strom server start-dev`, `temporal server start-dev`).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "bench")]

from temporalio.client import Client  # noqa: E402
from temporalio.worker import Worker  # noqa: E402
from update_workflow import CounterWorkflow  # noqa: E402

WARM_UP = 20


async def measure(target: str, count: int) -> list[float]:
    """Seconds of each of `count` update round trips against the server at `target`."""
    client = await Client.connect(target)
    tq = f"bench-{uuid.uuid4().hex[:8]}"
    async with Worker(client, task_queue=tq, workflows=[CounterWorkflow]):
        handle = await client.start_workflow(
            CounterWorkflow.run, id=f"bench-update-{uuid.uuid4()}", task_queue=tq
        )
        for _ in range(WARM_UP):
            await handle.execute_update(CounterWorkflow.bump)
        latencies = []
        for _ in range(count):
            began = time.perf_counter()
            await handle.execute_update(CounterWorkflow.bump)
            latencies.append(time.perf_counter() - began)
        await handle.signal(CounterWorkflow.stop)
        if await handle.result() != WARM_UP + count:
            raise AssertionError("updates were lost")
    return latencies


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) of `values`."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q / 100))]


def main() -> None:
    """Prints p50/p99 of the update round trip per server."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--server", action="append", required=True, help="NAME=HOST:PORT (repeatable)"
    )
    parser.add_argument("--count", type=int, default=200)
    args = parser.parse_args()
    for spec in args.server:
        name, _, target = spec.partition("=")
        if not target:
            parser.error(f"--server wants NAME=HOST:PORT, got {spec!r}")
        latencies = asyncio.run(measure(target, args.count))
        print(
            f"{name:10} updates={len(latencies)} "
            f"p50={percentile(latencies, 50) * 1000:.1f} ms "
            f"p99={percentile(latencies, 99) * 1000:.1f} ms "
            f"mean={statistics.fmean(latencies) * 1000:.1f} ms"
        )


if __name__ == "__main__":
    main()
