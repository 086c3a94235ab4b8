"""History processes joining and leaving under load: partition spread, throughput, pauses.

One Strom cluster (Kafka, Elasticsearch, every service) runs a steady closed-loop load of
workflows with one no-op activity (C at a time). Meanwhile history processes join and leave
the consumer group `<prefix>.history`:

    1 process -> 2 (one joins) -> 4 (two join) -> 3 (one leaves, SIGTERM) -> 2 (one SIGKILLed)

For each phase it prints how the history shards are spread over the processes, the
throughput of the phase's steady part, and the pause the change caused: the longest time
without a completed workflow in the 12 s after it, beside the longest such gap of
the steady part before it. A SIGKILLed process is noticed only after the consumer-group
session timeout; a joining or leaving one rebalances at once.

Usage: python bench/bench_scaling.py [--concurrency 20] [--phase-s 30]
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import itertools
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "bench")]

from confluent_kafka.admin import AdminClient  # noqa: E402
from noop_workflow import NoopActivityWorkflow, noop  # noqa: E402
from temporalio.client import Client  # noqa: E402
from temporalio.worker import Worker  # noqa: E402

from strom._devserver import DevCluster, free_port  # noqa: E402
from strom._services import ServiceSet  # noqa: E402

AFTERMATH_S = 12.0  # after a change, what counts as its aftermath rather than the steady part


class Load:
    """A closed loop of `concurrency` workflows at a time; remembers when each one completed."""

    def __init__(self, client: Client, task_queue: str, concurrency: int) -> None:
        self.client, self.task_queue, self.concurrency = client, task_queue, concurrency
        self.completed: list[float] = []
        self.latencies: list[float] = []
        self.errors: collections.Counter[str] = collections.Counter()
        self._stop = asyncio.Event()

    async def _slot(self) -> None:
        while not self._stop.is_set():
            began = time.monotonic()
            try:
                await self.client.execute_workflow(
                    NoopActivityWorkflow.run,
                    id=f"scale-{uuid.uuid4()}",
                    task_queue=self.task_queue,
                )
            except Exception as exc:  # a call refused mid-rebalance: count it, go on
                self.errors[f"{type(exc).__name__}: {exc}"[:100]] += 1
                await asyncio.sleep(0.5)
                continue
            now = time.monotonic()
            self.completed.append(now)
            self.latencies.append(now - began)

    async def run(self) -> None:
        await asyncio.gather(*(self._slot() for _ in range(self.concurrency)))

    def stop(self) -> None:
        self._stop.set()

    def rate(self, start: float, end: float) -> float:
        return sum(1 for t in self.completed if start <= t < end) / max(end - start, 1e-9)

    def longest_gap(self, start: float, end: float) -> float:
        """Longest stretch in [start, end) without a completed workflow."""
        marks = [start, *(t for t in self.completed if start <= t < end), end]
        return max(b - a for a, b in itertools.pairwise(marks))


def spread(admin: AdminClient, group: str) -> str:
    """Shards per member of the history consumer group, e.g. "4+4"."""
    try:
        described = admin.describe_consumer_groups([group])[group].result(timeout=10)
    except Exception as exc:  # the group may be mid-rebalance
        return f"unknown ({exc})"
    counts = sorted(
        (len(member.assignment.topic_partitions) for member in described.members), reverse=True
    )
    return "+".join(str(count) for count in counts) or "none"


class HistoryProcesses:
    """Extra history processes beside the ServiceSet's own (instance 0)."""

    def __init__(self, services: ServiceSet, root: Path) -> None:
        self._command = services.commands["history"]
        self._root = root
        self.running: dict[str, subprocess.Popen[bytes]] = {}

    def add(self, instance: str) -> None:
        state_dir = self._root / f"history-state-{instance}"
        command = [*self._command, "--instance", instance]
        command[command.index("--state-dir") + 1] = str(state_dir)
        log = (self._root / f"history-{instance}.log").open("ab")
        self.running[instance] = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()

    def end(self, instance: str, sig: signal.Signals) -> None:
        process = self.running.pop(instance)
        process.send_signal(sig)
        process.wait(30)

    def stop_all(self) -> None:
        for instance in list(self.running):
            self.end(instance, signal.SIGTERM)


async def bench(concurrency: int, phase_s: float) -> None:
    with tempfile.TemporaryDirectory(prefix="strom-scaling-") as tmp:
        root = Path(tmp)
        cluster = DevCluster(root / "cluster", kafka_port=free_port(), es_port=free_port())
        cluster.start()
        services: ServiceSet | None = None
        extra: HistoryProcesses | None = None
        try:
            services = ServiceSet.start(cluster.kafka_bootstrap, cluster.es_url, root, free_port())
            extra = HistoryProcesses(services, root)
            admin = AdminClient({"bootstrap.servers": cluster.kafka_bootstrap})
            group = services.topology.history_group
            client = await Client.connect(services.target)
            task_queue = f"scaling-{uuid.uuid4().hex[:8]}"
            load = Load(client, task_queue, concurrency)
            async with Worker(
                client,
                task_queue=task_queue,
                workflows=[NoopActivityWorkflow],
                activities=[noop],
                max_concurrent_workflow_tasks=max(concurrency, 5),
                max_concurrent_activities=max(concurrency, 5),
            ):
                running = asyncio.create_task(load.run())
                await asyncio.sleep(phase_s)  # warm-up, not reported
                steps: list[tuple[str, list[tuple[str, str | None]]]] = [
                    ("1 process (baseline)", []),
                    ("one joins -> 2", [("add", "1")]),
                    ("two join -> 4", [("add", "2"), ("add", "3")]),
                    ("one leaves (SIGTERM) -> 3", [("term", "3")]),
                    ("one SIGKILLed -> 2", [("kill", "2")]),
                ]
                print(
                    f"{'phase':<28}{'shards':>12}{'wf/s':>8}{'pause':>9}{'steady gap':>12}",
                    flush=True,
                )
                for label, actions in steps:
                    changed = time.monotonic()
                    for action, instance in actions:
                        assert instance is not None
                        if action == "add":
                            extra.add(instance)
                        else:
                            sig = signal.SIGTERM if action == "term" else signal.SIGKILL
                            extra.end(instance, sig)
                    await asyncio.sleep(phase_s)
                    ended = time.monotonic()
                    steady = changed + AFTERMATH_S if actions else changed
                    pause = load.longest_gap(changed, steady) if actions else 0.0
                    print(
                        f"{label:<28}{spread(admin, group):>12}"
                        f"{load.rate(steady, ended):>8.1f}{pause:>8.1f}s"
                        f"{load.longest_gap(steady, ended):>11.1f}s",
                        flush=True,
                    )
                load.stop()
                await running
            ordered = sorted(load.latencies)
            p50 = ordered[len(ordered) // 2] * 1000 if ordered else 0.0
            print(
                f"{len(load.completed)} workflows completed, p50 {p50:.0f} ms (C={concurrency}); "
                f"{load.errors.total()} calls failed and were made again:"
            )
            for error, count in load.errors.most_common():
                print(f"  {count:5d} x {error}")
        finally:
            if extra is not None:
                extra.stop_all()
            if services is not None:
                services.stop()
            cluster.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", type=int, default=20, help="workflows at a time")
    parser.add_argument(
        "--phase-s", type=float, default=30.0, help=f"seconds per phase (> {AFTERMATH_S:.0f})"
    )
    args = parser.parse_args()
    asyncio.run(bench(args.concurrency, args.phase_s))


if __name__ == "__main__":
    main()
