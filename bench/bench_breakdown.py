"""Where Strom's server spends its work per workflow: CPU by process, Kafka requests, gRPC calls.

Runs N workflows of one no-op activity at concurrency C (default 1,000 at 100) on a fresh
Strom laid out as `strom server start-dev` lays it out (its shards, matching in the frontend's
process; ``--shards`` and ``--matching-process`` change that), with the official SDK worker and
client in this process, after the same warm-up as `bench_workflows.py`, and prints per workflow
of the timed part:

- the CPU of each process tree (Kafka broker, Elasticsearch, history, matching, frontend,
  visibility indexer, worker_service, and this bench's SDK worker and client), read from
  /proc/<pid>/stat before and after;
- the Kafka requests each service sent, by Kafka API: librdkafka's statistics
  (``statistics.interval.ms``, set for every client through ``$STROM_KAFKA_CONFIG``) exported by
  each service as ``kafka_client_requests_total``;
- the gRPC calls the frontend and matching served, by RPC (``service_requests_total``);
- each process's CPU split by thread kind: for the two JVMs (Kafka, Elasticsearch) the JIT
  compiler threads, the garbage collector and the rest (the node's own work), which tells a
  fresh JVM's compilation from the cost of the requests; for the Python services librdkafka's
  threads, gRPC core's, RocksDB's, the main thread (the service's own loop) and the rest.

With ``--profile DIR`` it also samples every Python service with py-spy during the timed part
(``--py-spy``: the py-spy binary; ``pip install py-spy``), writes each profile to DIR as
collapsed stacks (``<service>.txt``) and prints the functions that hold most samples; and it
records the Kafka broker with Java Flight Recorder (``jcmd``/``jfr`` of the JDK it runs on) to
DIR/``kafka.jfr`` and prints the Java methods most execution samples were in.

Usage: python bench/bench_breakdown.py [--count 1000] [--concurrency 100] [--profile DIR]
       [--shards N] [--matching-process]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "bench")]

from bench_workflows import WARM_UP, cpu_seconds, pct, settle  # noqa: E402
from noop_workflow import NoopActivityWorkflow, noop  # noqa: E402
from temporalio.client import Client  # noqa: E402
from temporalio.worker import Worker  # noqa: E402

from schemas.topics import DEV_SHARDS, Topology  # noqa: E402
from streams.connection import ENV_CONFIG_FILE  # noqa: E402
from strom._devserver import DevCluster, free_port  # noqa: E402
from strom._devserver.java import find_java  # noqa: E402
from strom._devserver.process import descendants  # noqa: E402
from strom._services import SERVICE_NAMES, ServiceSet  # noqa: E402

STATS_INTERVAL_MS = 1000
# A sample line of the Prometheus text format: name{labels} value.
_SAMPLE = re.compile(r"^(\w+)\{([^}]*)\}\s+(\S+)$")
_LABEL = re.compile(r'(\w+)="([^"]*)"')
Snapshot = dict[str, Counter[tuple[str, ...]]]


def scrape(urls: dict[str, str]) -> Snapshot:
    """Kafka requests and gRPC calls of each service: {service: {(family, label...): value}}."""
    wanted = {
        "kafka_client_requests_total": ("api", "client_id"),
        "service_requests_total": ("operation",),
    }
    found: Snapshot = {}
    for service, url in urls.items():
        counts: Counter[tuple[str, ...]] = Counter()
        with urllib.request.urlopen(url, timeout=10) as response:
            text = response.read().decode()
        for line in text.splitlines():
            match = _SAMPLE.match(line)
            if not match or match[1] not in wanted:
                continue
            labels = dict(_LABEL.findall(match[2]))
            counts[(match[1], *(labels.get(k, "") for k in wanted[match[1]]))] += int(
                float(match[3])
            )
        found[service] = counts
    return found


_TICKS_PER_S = os.sysconf("SC_CLK_TCK")
# Thread names (as /proc shows them, cut to 15 characters) by the kind of work; the first
# pattern that matches names the kind, and a thread no pattern matches is "other".
_JVM_THREAD_KINDS = (
    ("JIT compiler", re.compile(r"^C\d CompilerThre")),
    ("GC", re.compile(r"^(GC Thread|G1 |VM Thread)")),
)
_PYTHON_THREAD_KINDS = (
    ("librdkafka", re.compile(r"^rdk:")),
    ("gRPC core", re.compile(r"^(event_engine|grpc_|lifeguard)")),
    ("RocksDB", re.compile(r"^rocksdb:")),
)
MAIN_THREAD = "main thread"
"""The kind of a process's first thread that no pattern names: a Python service's event loop
or processing loop (its other Python threads, e.g. an HTTP server, count as "other")."""


def thread_cpu(pid: int, kinds: tuple[tuple[str, re.Pattern[str]], ...]) -> Counter[str]:
    """CPU clock ticks (`_TICKS_PER_S`) of a process tree's threads by kind: the first of
    `kinds` whose pattern matches the thread's name, else `MAIN_THREAD` for each process's
    first thread, else "other"."""
    found: Counter[str] = Counter()
    for member in [pid, *(child for child, _ in descendants(pid))]:
        try:
            tasks = os.listdir(f"/proc/{member}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                name = Path(f"/proc/{member}/task/{task}/comm").read_text().strip()
                stat = Path(f"/proc/{member}/task/{task}/stat").read_text()
            except OSError:
                continue  # the thread ended meanwhile
            fields = stat.rsplit(")", 1)[1].split()
            kind = next((k for k, pattern in kinds if pattern.match(name)), None)
            if kind is None:
                kind = MAIN_THREAD if task == str(member) else "other"
            found[kind] += int(fields[11]) + int(fields[12])
    return found


def thread_kinds_of(process: str) -> tuple[tuple[str, re.Pattern[str]], ...]:
    return _JVM_THREAD_KINDS if process in ("kafka", "elasticsearch") else _PYTHON_THREAD_KINDS


def print_threads(
    before: dict[str, Counter[str]], after: dict[str, Counter[str]], count: int
) -> None:
    """Prints each process's CPU per workflow by thread kind (threads that ended are missed)."""
    print("\nCPU per workflow (ms), by process and thread kind")
    for name, threads in after.items():
        grown = threads - before.get(name, Counter())
        kinds = [kind for kind, _ in thread_kinds_of(name)]
        for kind in (*kinds, MAIN_THREAD, "other"):
            if grown[kind] or kind in ("JIT compiler", "GC"):
                ms = grown[kind] / _TICKS_PER_S / count * 1000
                print(f"  {name:<14} {kind:<18} {ms:7.2f}")


def own_cpu() -> float:
    times = os.times()
    return times.user + times.system


def print_hottest(own: Counter[str], under: Counter[str], samples: int, top: int) -> None:
    """Prints the frames most samples were in (self) and under (total) of one profile."""
    # Entry points and event-loop frames are under nearly every sample: left out.
    below = Counter({f: n for f, n in under.items() if n < 0.9 * samples})
    for label, table in (("self", own), ("total", below)):
        for frame, n in table.most_common(top):
            print(f"    {label:<5} {100 * n / max(samples, 1):5.1f}%  {frame[:110]}")


class Profiler:
    """py-spy sampling every Python service while it lives; `stop` writes the profiles."""

    def __init__(self, py_spy: str, folder: Path, pids: dict[str, int]) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.spies = {
            name: subprocess.Popen(
                [
                    py_spy,
                    "record",
                    "--nonblocking",
                    "--gil",
                    "--rate",
                    "50",
                    "--format",
                    "raw",
                    "--pid",
                    str(pid),
                    "--output",
                    str(folder / f"{name}.txt"),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for name, pid in pids.items()
        }

    def stop(self) -> None:
        for spy in self.spies.values():
            spy.send_signal(signal.SIGINT)  # py-spy writes its output on Ctrl-C
        for spy in self.spies.values():
            try:
                spy.wait(30)
            except subprocess.TimeoutExpired:
                spy.kill()
                spy.wait()

    def report(self, top: int) -> None:
        """Prints, per service, the functions most samples were in (self) and under (total)."""
        for name in self.spies:
            path = self.folder / f"{name}.txt"
            if not path.exists():
                print(f"  {name}: no profile written")
                continue
            own: Counter[str] = Counter()
            under: Counter[str] = Counter()
            samples = 0
            for line in path.read_text(errors="replace").splitlines():
                stack, _, text = line.rpartition(" ")
                if not stack or not text.isdigit():
                    continue
                frames, count = stack.split(";"), int(text)
                samples += count
                own[frames[-1]] += count
                for frame in set(frames):
                    under[frame] += count
            print(f"\n  {name}: {samples} samples with the GIL ({path})")
            print_hottest(own, under, samples, top)


class FlightRecorder:
    """Java Flight Recorder on JVMs of this user while the load runs; `stop` dumps them."""

    def __init__(self, java: Path, folder: Path, pids: dict[str, int]) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.jcmd = str(java.with_name("jcmd"))
        self.jfr = str(java.with_name("jfr"))
        self.files = {name: folder / f"{name}.jfr" for name in pids}
        self.pids = pids
        for pid in pids.values():
            self._jcmd(pid, "JFR.start", "name=bench", "settings=profile")

    def _jcmd(self, pid: int, *command: str) -> None:
        done = subprocess.run(
            [self.jcmd, str(pid), *command], capture_output=True, text=True, timeout=60
        )
        if done.returncode != 0:
            print(f"  jcmd {pid} {command[0]} failed: {done.stdout.strip()} {done.stderr.strip()}")

    def stop(self) -> None:
        for name, pid in self.pids.items():
            self._jcmd(pid, "JFR.stop", "name=bench", f"filename={self.files[name]}")

    def report(self, top: int) -> None:
        """Prints, per JVM, the methods most execution samples were in (self: top frame)."""
        for name, path in self.files.items():
            if not path.exists():
                print(f"  {name}: no recording written")
                continue
            done = subprocess.run(
                [self.jfr, "print", "--events", "jdk.ExecutionSample", "--stack-depth", "64",
                 str(path)],
                capture_output=True, text=True, timeout=300,
            )  # fmt: skip
            own: Counter[str] = Counter()
            under: Counter[str] = Counter()
            samples = 0
            for event in done.stdout.split("jdk.ExecutionSample")[1:]:
                frames = [
                    line.strip().split("  line:")[0]
                    for line in event.splitlines()
                    if line.startswith("    ") and "line:" in line
                ]
                if not frames:
                    continue
                samples += 1
                own[frames[0]] += 1
                for frame in set(frames):
                    under[frame] += 1
            print(f"\n  {name}: {samples} execution samples ({path})")
            print_hottest(own, under, samples, top)


async def measure_idle(pids: dict[str, int], urls: dict[str, str], seconds: float) -> None:
    """Prints what each process burns, and which Kafka requests are sent, with no workflow."""
    cpu = {name: cpu_seconds([pid]) for name, pid in pids.items()}
    calls = scrape(urls)
    await asyncio.sleep(seconds)
    after = {name: cpu_seconds([pid]) for name, pid in pids.items()}
    await asyncio.sleep(STATS_INTERVAL_MS / 1000 * 2.5)
    after_calls = scrape(urls)
    print(f"Idle for {seconds:.0f} s: CPU ms per second, by process tree")
    for name in pids:
        print(f"  {name:<14} {(after[name] - cpu[name]) / seconds * 1000:7.1f}")
    print(f"  {'server total':<14} {sum(after[n] - cpu[n] for n in pids) / seconds * 1000:7.1f}")
    # Per second of idleness: the same table with `seconds` in place of a workflow count.
    print_calls(
        "Idle Kafka requests per second", "kafka_client_requests_total", calls, after_calls,
        int(seconds), by_client=True,
    )  # fmt: skip
    print()


async def timed_load(
    client: Client,
    count: int,
    concurrency: int,
    pids: dict[str, int],
    urls: dict[str, str],
    profiler: tuple[str, Path] | None,
    warm_up: int = WARM_UP,
    idle_s: float = 0.0,
) -> None:
    tq = f"breakdown-{uuid.uuid4().hex[:8]}"
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []

    async def one(prefix: str, limit: asyncio.Semaphore, record: bool) -> None:
        async with limit:
            began = time.perf_counter()
            await client.execute_workflow(
                NoopActivityWorkflow.run, id=f"{prefix}-{uuid.uuid4()}", task_queue=tq
            )
            if record:
                latencies.append(time.perf_counter() - began)

    async with Worker(
        client,
        task_queue=tq,
        workflows=[NoopActivityWorkflow],
        activities=[noop],
        max_concurrent_workflow_tasks=max(concurrency, 5),
        max_concurrent_activities=max(concurrency, 5),
    ):
        warm = asyncio.Semaphore(10)
        await asyncio.gather(*(one("warm", warm, False) for _ in range(warm_up)))
        await settle(list(pids.values()))
        await asyncio.sleep(STATS_INTERVAL_MS / 1000 * 2.5)  # the last statistics are in
        if idle_s > 0:
            await measure_idle(pids, urls, idle_s)
        jvms = {n: p for n, p in pids.items() if n in ("kafka", "elasticsearch") and p}
        threads_of = {n: p for n, p in pids.items() if p}
        before_threads = {n: thread_cpu(p, thread_kinds_of(n)) for n, p in threads_of.items()}
        before_cpu = {name: cpu_seconds([pid]) for name, pid in pids.items()}
        before_own = own_cpu()
        before_calls = scrape(urls)
        spy = recorder = None
        if profiler is not None:
            python_pids = {n: p for n, p in pids.items() if n not in ("kafka", "elasticsearch")}
            spy = Profiler(profiler[0], profiler[1], python_pids)
            # Elasticsearch runs as another user, whose JVM jcmd cannot attach to.
            kafka = {n: p for n, p in jvms.items() if n == "kafka"}
            recorder = FlightRecorder(find_java(), profiler[1], kafka)
        began = time.perf_counter()
        await asyncio.gather(*(one("bench", gate, True) for _ in range(count)))
        seconds = time.perf_counter() - began
        after_cpu = {name: cpu_seconds([pid]) for name, pid in pids.items()}
        after_own = own_cpu()
        after_threads = {n: thread_cpu(p, thread_kinds_of(n)) for n, p in threads_of.items()}
        if spy is not None:
            spy.stop()
        if recorder is not None:
            recorder.stop()
        await asyncio.sleep(STATS_INTERVAL_MS / 1000 * 2.5)
        after_calls = scrape(urls)

    print(
        f"C={concurrency} N={count}: {count / seconds:.1f} wf/s, p50 "
        f"{pct(latencies, 0.5) * 1000:.0f} ms, p99 {pct(latencies, 0.99) * 1000:.0f} ms; "
        f"load average {os.getloadavg()[0]:.2f} (1 min) on {os.cpu_count()} cores"
    )
    print("\nCPU per workflow (ms), by process tree")
    server = 0.0
    for name in pids:
        ms = (after_cpu[name] - before_cpu[name]) / count * 1000
        server += ms
        print(f"  {name:<14} {ms:7.2f}")
    print(f"  {'server total':<14} {server:7.2f}")
    print(f"  {'bench (SDK)':<14} {(after_own - before_own) / count * 1000:7.2f}")
    print_threads(before_threads, after_threads, count)
    print_calls("Kafka requests per workflow, by service and API", "kafka_client_requests_total",
                before_calls, after_calls, count, by_client=True)  # fmt: skip
    print_calls("gRPC calls served per workflow, by service and RPC", "service_requests_total",
                before_calls, after_calls, count)  # fmt: skip
    if spy is not None:
        print("\npy-spy profiles of the timed part (self: innermost frame; total: on the stack)")
        spy.report(top=8)
    if recorder is not None:
        print("\nJava Flight Recorder of the timed part (self: top frame; total: on the stack)")
        recorder.report(top=12)


def print_calls(
    title: str, family: str, before: Snapshot, after: Snapshot, count: int, by_client: bool = False
) -> None:
    """Prints the growth of `family` per workflow: by service and name, then in all.

    With `by_client`, Kafka requests are also split by the client's `client.id`.
    """
    print(f"\n{title}")
    totals: Counter[str] = Counter()
    for service in after:
        grown = after[service] - before.get(service, Counter())
        rows: Counter[str] = Counter()
        clients: Counter[tuple[str, str]] = Counter()
        for key, value in grown.items():
            if key[0] == family and value > 0:
                rows[key[1]] += value
                if by_client:
                    clients[(key[2] or "-", key[1])] += value
        for name, value in rows.most_common():
            totals[name] += value
            print(f"  {service:<11} {name:<34} {value / count:7.2f}")
        for (client, name), value in sorted(clients.items()):
            print(f"  {service:<11}   {client[:40]:<40} {name:<20} {value / count:7.2f}")
    for name, value in totals.most_common():
        print(f"  {'all':<11} {name:<34} {value / count:7.2f}")


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--count", type=int, default=1000, help="workflows timed")
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--warm-up", type=int, default=WARM_UP, help="workflows before timing")
    parser.add_argument(
        "--idle", type=float, default=0.0, metavar="S",
        help="also measure S seconds with no workflow after the warm-up (0: skip)",
    )  # fmt: skip
    parser.add_argument("--profile", type=Path, help="folder for py-spy profiles (off if unset)")
    parser.add_argument("--py-spy", default=shutil.which("py-spy") or "py-spy")
    parser.add_argument("--port", type=int, default=0, help="frontend port (0: a free one)")
    parser.add_argument("--kafka-port", type=int, default=0, help="and the next for KRaft")
    parser.add_argument("--es-port", type=int, default=0)
    parser.add_argument(
        "--shards", type=int, default=DEV_SHARDS,
        help="history shards and tasks partitions, as `strom server start-dev --shards`",
    )  # fmt: skip
    parser.add_argument(
        "--matching-process", action="store_true",
        help="run matching as its own process (start-dev runs it in the frontend's)",
    )  # fmt: skip
    args = parser.parse_args()
    if args.count < 1 or args.concurrency < 1 or args.warm_up < 0 or args.shards < 1:
        parser.error("--count, --concurrency and --shards must be at least 1, --warm-up at least 0")
    if args.profile is not None and not shutil.which(args.py_spy):
        parser.error(f"py-spy not found ({args.py_spy}); pip install py-spy or pass --py-spy")
    with tempfile.TemporaryDirectory(prefix="strom-breakdown-") as tmp:
        # Every Kafka client of every service (they inherit the environment) emits statistics.
        properties = Path(tmp) / "kafka.properties"
        properties.write_text(f"statistics.interval.ms={STATS_INTERVAL_MS}\n")
        os.environ[ENV_CONFIG_FILE] = str(properties)
        cluster = DevCluster(
            Path(tmp) / "cluster",
            kafka_port=args.kafka_port or free_port(),
            es_port=args.es_port or free_port(),
        )
        cluster.start()
        try:
            services = ServiceSet.start(
                cluster.kafka_bootstrap,
                cluster.es_url,
                Path(tmp),
                args.port or free_port(),
                metrics_ports={name: free_port() for name in SERVICE_NAMES},
                topology=Topology.dev(shards=args.shards),
                matching_in_frontend=not args.matching_process,
            )
            try:
                pids = {
                    "kafka": cluster.kafka.process.pid if cluster.kafka.process else 0,
                    "elasticsearch": (
                        cluster.elasticsearch.process.pid if cluster.elasticsearch.process else 0
                    ),
                    **{name: p.pid for name, p in services.processes.items()},
                }
                client = await Client.connect(services.target)
                profiler = (args.py_spy, args.profile) if args.profile else None
                await timed_load(
                    client,
                    args.count,
                    args.concurrency,
                    pids,
                    services.metrics_urls,
                    profiler,
                    args.warm_up,
                    args.idle,
                )
            finally:
                services.stop()
        finally:
            cluster.stop()


if __name__ == "__main__":
    asyncio.run(main())
