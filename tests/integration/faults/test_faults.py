"""Strom under faults on real processes: every service kind SIGKILLed, Kafka and Elasticsearch
frozen (SIGSTOP), while a steady load of workflows with three activities each runs.

Afterwards every workflow has completed with the right result, no activity attempt ran twice
(the worker counts each (workflow, activity, attempt) it executes), every history is whole
(ids 1..n, one close event), List and Count see every workflow, and every service runs.

The test owns its Kafka and Elasticsearch (freezing the session's would stall other tests).
The faults come at random moments of a fixed plan; the seed is printed, and
STROM_FAULT_SEED=<seed> replays the same moments.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import random
import signal
import subprocess
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from temporalio import activity
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Worker

from strom._devserver import DevCluster, free_port
from strom._devserver.process import ManagedProcess, descendants
from strom.testing import StromEnvironment
from tests.helpers import start_despite_faults
from tests.workflows.fault_load import STEPS, ThreeStepWorkflow

pytestmark = [pytest.mark.timeout(900)]

KAFKA_FREEZE_S = 15.0
ES_FREEZE_S = 60.0
LOAD_S = 110.0
START_EVERY_S = 1.0
RESULT_WAIT_S = 300.0

_CLOSED = {
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
}

executions: collections.Counter[tuple[str, str, int]] = collections.Counter()
started_at: list[float] = []  # time.monotonic() of every activity attempt


@activity.defn(name="record_step")
async def record_step(text: str) -> str:
    """Counts this attempt and answers deterministically."""
    info = activity.info()
    started_at.append(time.monotonic())
    executions[(info.workflow_id or "", info.activity_id, info.attempt)] += 1
    return text.upper()


def _signal_tree(process: ManagedProcess | None, sig: signal.Signals) -> None:
    """Signals a node's process and every descendant (Elasticsearch runs under a wrapper)."""
    assert process is not None and process.pid is not None
    pids = [process.pid, *(pid for pid, _ in descendants(process.pid))]
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


class Faults:
    """Runs the fault plan and supervises the services as start-dev does (restart on exit)."""

    def __init__(self, env: StromEnvironment, cluster: DevCluster, seed: int) -> None:
        self.env = env
        self.cluster = cluster
        self.rng = random.Random(seed)
        self.log: list[str] = []
        self.began = time.monotonic()
        self.frozen: list[ManagedProcess | None] = []
        self.ended: list[tuple[str, float]] = []  # each fault and when it was over

    def recovery(self) -> list[str]:
        """For each fault, how long after it was over the next activity attempt started."""
        lines = []
        for label, end in self.ended:
            later = [t for t in started_at if t >= end]
            after = f"{min(later) - end:.1f}s" if later else "never"
            lines.append(f"{label}: next activity attempt {after} after it was over")
        return lines

    def note(self, text: str) -> None:
        line = f"t={time.monotonic() - self.began:6.1f}s {text}"
        self.log.append(line)
        print(line, flush=True)

    async def supervise(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            for line in await asyncio.to_thread(self.env.services.restart_exited):
                self.note(line)
            await asyncio.sleep(0.5)

    async def at(self, moment: float, action: Callable[[], Awaitable[None]]) -> None:
        await asyncio.sleep(max(0.0, moment - (time.monotonic() - self.began)))
        await action()

    def kill(self, name: str) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            process = self.env.services.processes[name]
            self.note(f"SIGKILL {name} (pid {process.pid})")
            process.send_signal(signal.SIGKILL)
            self.ended.append((f"SIGKILL {name}", time.monotonic()))

        return run

    def freeze(self, what: str, seconds: float) -> Callable[[], Awaitable[None]]:
        node = self.cluster.kafka if what == "kafka" else self.cluster.elasticsearch

        async def run() -> None:
            self.note(f"SIGSTOP {what} for {seconds:.0f}s")
            self.frozen.append(node.process)
            _signal_tree(node.process, signal.SIGSTOP)
            try:
                await asyncio.sleep(seconds)
            finally:
                _signal_tree(node.process, signal.SIGCONT)
                self.frozen.remove(node.process)
                self.note(f"SIGCONT {what}")
                self.ended.append((f"SIGSTOP {what} {seconds:.0f}s", time.monotonic()))

        return run

    def thaw_all(self) -> None:
        for process in list(self.frozen):
            _signal_tree(process, signal.SIGCONT)

    async def plan(self) -> None:
        """Each service kind killed once, then Kafka frozen, then Elasticsearch frozen."""
        moments = sorted(self.rng.uniform(5, 40) for _ in range(4))
        kinds = ["history", "matching", "frontend", "visibility"]
        self.rng.shuffle(kinds)
        steps = [self.at(m, self.kill(k)) for m, k in zip(moments, kinds, strict=True)]
        steps.append(self.at(self.rng.uniform(45, 50), self.freeze("kafka", KAFKA_FREEZE_S)))
        steps.append(self.at(self.rng.uniform(70, 75), self.freeze("es", ES_FREEZE_S)))
        await asyncio.gather(*steps)


async def _load(client: Client, tq: str, prefix: str, faults: Faults) -> list[str]:
    """Starts one workflow a second for LOAD_S seconds; returns their ids once all started."""
    ids: list[str] = []
    starts: list[asyncio.Task[WorkflowHandle]] = []
    count = int(LOAD_S / START_EVERY_S)
    for number in range(count):
        workflow_id = f"{prefix}-{number}"
        start = start_despite_faults(
            client, "ThreeStepWorkflow", f"w{number}", id=workflow_id, task_queue=tq
        )
        starts.append(asyncio.create_task(start))
        ids.append(workflow_id)
        await asyncio.sleep(START_EVERY_S)
    await asyncio.gather(*starts)
    faults.note(f"load done: {len(ids)} workflows started")
    return ids


async def _check_history(client: Client, workflow_id: str) -> None:
    events = (await client.get_workflow_handle(workflow_id).fetch_history()).events
    ids = [e.event_id for e in events]
    assert ids == list(range(1, len(events) + 1)), (workflow_id, ids)
    assert events[0].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED
    assert sum(e.event_type in _CLOSED for e in events) == 1, workflow_id
    assert events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, workflow_id


def _service_logs(folder: Path, lines: int = 12) -> list[str]:
    """Each service's last warnings and errors: CI keeps no files, only output."""
    out = []
    for log_file in sorted(folder.glob("*.log")):
        text = log_file.read_text(errors="replace").splitlines()
        notable = [line for line in text if not line[24:].lstrip().startswith(("INFO", "DEBUG"))]
        out.append(f"--- {log_file.name}: last {lines} of {len(notable)} notable lines ---")
        out += [line[:300] for line in notable[-lines:]]
    return out


def _thread_stacks(processes: dict[str, subprocess.Popen[bytes]], folder: Path) -> list[str]:
    """The thread stacks of every live service (SIGUSR1: `supervision.dump_stacks_on_sigusr1`),
    from what each log gained meanwhile: where a process that is alive but stalled waits."""
    sizes = {log_file: log_file.stat().st_size for log_file in folder.glob("*.log")}
    for process in processes.values():
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGUSR1)
    time.sleep(2)
    out = []
    for log_file in sorted(folder.glob("*.log")):
        with log_file.open("rb") as f:
            f.seek(sizes.get(log_file, 0))
            added = f.read().decode(errors="replace").splitlines()
        stacks = [line for line in added if line.startswith(_STACK_LINES)]
        out.append(f"--- {log_file.name}: thread stacks ({len(stacks)} lines) ---")
        out += [line[:200] for line in stacks[:_STACK_LINES_SHOWN]]
    return out


_STACK_LINES = ("Thread 0x", "Current thread 0x", "  File ")
_STACK_LINES_SHOWN = 80


class _Unfinished(Exception):
    """Workflows without a result when the wait ran out."""

    def __init__(self, ids: list[str], seconds: float) -> None:
        super().__init__(f"{len(ids)} workflows had no result after {seconds:.0f}s: {ids[:10]}")
        self.ids = ids


async def _results(client: Client, ids: list[str], seconds: float) -> dict[str, str]:
    """Every workflow's result, waited for together; raises _Unfinished naming the late ones."""
    tasks = {wid: asyncio.create_task(client.get_workflow_handle(wid).result()) for wid in ids}
    _, pending = await asyncio.wait(tasks.values(), timeout=seconds)
    for task in pending:
        task.cancel()
    if pending:
        raise _Unfinished([wid for wid, task in tasks.items() if task in pending], seconds)
    return {wid: task.result() for wid, task in tasks.items()}


async def _describe(client: Client, ids: list[str], most: int = 5) -> list[str]:
    """Where each of the first `most` unfinished workflows stands: status, events, pending work."""
    out = []
    for workflow_id in ids[:most]:
        handle = client.get_workflow_handle(workflow_id)
        try:
            described = await asyncio.wait_for(handle.describe(), 30)
            history = await asyncio.wait_for(handle.fetch_history(), 30)
        except Exception as exc:  # a diagnosis must not hide the failure
            out.append(f"{workflow_id}: not readable: {type(exc).__name__}: {exc}")
            continue
        raw = described.raw_description
        events = " ".join(
            f"{e.event_id}:{EventType.Name(e.event_type).removeprefix('EVENT_TYPE_')}"
            for e in history.events
        )
        out.append(f"{workflow_id}: {described.status.name if described.status else None}")
        out.append(f"  events: {events}")
        for act in raw.pending_activities:
            out.append(
                f"  pending activity {act.activity_id}: state {act.state} attempt {act.attempt}"
                f" last failure {act.last_failure.message!r}"
            )
        if raw.HasField("pending_workflow_task"):
            task = raw.pending_workflow_task
            out.append(f"  pending workflow task: state {task.state} attempt {task.attempt}")
    return out


async def test_kills_and_freezes_under_load_lose_and_repeat_nothing(tmp_path: Path) -> None:
    seed = int(os.environ.get("STROM_FAULT_SEED", str(random.randrange(1 << 30))))
    print(f"fault plan seed {seed} (STROM_FAULT_SEED={seed} replays it)", flush=True)
    cluster = DevCluster(tmp_path / "cluster", kafka_port=free_port(), es_port=free_port())
    await asyncio.to_thread(cluster.start)
    env: StromEnvironment | None = None
    faults: Faults | None = None
    try:
        env = await StromEnvironment.start(
            kafka_bootstrap=cluster.kafka_bootstrap,
            es_url=cluster.es_url,
            data_dir=tmp_path / "strom",
        )
        faults = Faults(env, cluster, seed)
        tq = f"faults-{uuid.uuid4().hex[:8]}"
        prefix = f"fault-{uuid.uuid4().hex[:6]}"
        stop = asyncio.Event()
        supervisor = asyncio.create_task(faults.supervise(stop))
        async with Worker(
            env.client, task_queue=tq, workflows=[ThreeStepWorkflow], activities=[record_step]
        ):
            plan = asyncio.create_task(faults.plan())
            ids = await _load(env.client, tq, prefix, faults)
            await plan
            faults.note("faults over; waiting for every workflow")
            results = await _results(env.client, ids, RESULT_WAIT_S)
            faults.note("every workflow completed")
        stop.set()
        await supervisor

        for number, workflow_id in enumerate(ids):
            expected = "|".join(f"W{number}:{step}" for step in range(STEPS))
            assert results[workflow_id] == expected
        ours = {key: n for key, n in executions.items() if key[0].startswith(prefix)}
        repeated = {key: n for key, n in ours.items() if n > 1}
        assert repeated == {}, f"activity attempts that ran more than once: {repeated}"
        done = {(key[0], key[1]) for key in ours}
        assert len(done) == len(ids) * STEPS
        retried = sum(1 for key in ours if key[2] > 1)
        faults.note(f"{len(ours)} activity attempts, {retried} of them retries, none repeated")
        for line in faults.recovery():
            faults.note(line)
        for workflow_id in ids:
            await _check_history(env.client, workflow_id)

        query = f"WorkflowId STARTS_WITH '{prefix}-'"
        deadline = time.monotonic() + 180
        while True:
            listed = [w.id async for w in env.client.list_workflows(query)]
            count = (await env.client.count_workflows(query)).count
            if (len(set(listed)) == len(ids) and count == len(ids)) or time.monotonic() > deadline:
                break
            await asyncio.sleep(2)
        assert sorted(set(listed)) == sorted(ids)
        assert count == len(ids)
        faults.note("List and Count see every workflow")
        env.services.check_alive()
    except Exception as exc:
        # CI shows the head of a failure's report and cuts the middle: everything needed to
        # understand it goes into one short message instead of a traceback.
        lines = [f"{type(exc).__name__}: {str(exc)[:1500]}"]
        if faults is not None:
            lines += ["", "fault log:", *faults.log]
        if env is not None and isinstance(exc, _Unfinished):
            lines += ["", "unfinished workflows:", *await _describe(env.client, exc.ids)]
        lines += ["", *_service_logs(tmp_path / "strom" / "logs")]
        if env is not None:
            logs = tmp_path / "strom" / "logs"
            lines += ["", *await asyncio.to_thread(_thread_stacks, env.services.processes, logs)]
        pytest.fail("\n".join(lines), pytrace=False)
    finally:
        if faults is not None:
            faults.thaw_all()
            print("\n".join(faults.log))
        if env is not None:
            await env.shutdown()
        await asyncio.to_thread(cluster.stop)
