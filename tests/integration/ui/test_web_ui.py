"""Temporal's Web UI, pointed at Strom, renders the workflow list, a history and pending activities.

The UI server is the one `strom server start-dev` runs (built once with Go, cached); the pages
are loaded in headless Chromium and checked in their rendered text. Every test runs on Strom and
on the Temporal dev server; the expected text comes from the SDK's view of the same workflows.
"""

from __future__ import annotations

import asyncio
import re
import urllib.parse
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.api.enums.v1 import EventType, PendingActivityState, TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from helpers import eventually_async
from strom._devserver import free_port
from strom._devserver.errors import GoNotFoundError
from strom._devserver.webui import WebUi, build_ui_server, ui_server_home
from tests.integration.ui.browser import Chromium, find_chromium
from tests.integration.ui.ui_workflows import LongActivityWorkflow
from tests.integration.workflows.conftest import Server
from tests.workflows.activities import greet, greet_after
from tests.workflows.one_activity import OneActivityWorkflow

# The first run of a machine builds the UI server (about two minutes) inside the first test.
pytestmark = [pytest.mark.timeout(600)]

_PAGE_TIMEOUT_S = 60.0


@dataclass
class Run:
    """One workflow run, as the UI addresses it."""

    workflow_id: str
    run_id: str


@dataclass
class Scene:
    """Two workflows on one server, and the UI pointed at that server."""

    server: Server
    ui: WebUi
    task_queue: str
    completed: Run
    completed_event_types: list[str]
    completed_result: str
    pending: Run
    pending_activity_id: str

    def page(self, run: Run, view: str) -> str:
        """The URL of one of a run's pages (`history`, `pending-activities`, ...)."""
        return f"{self.ui.url}/namespaces/default/workflows/{run.workflow_id}/{run.run_id}/{view}"


def ui_label(event_type: EventType.ValueType) -> str:
    """The UI's name of an event type: EVENT_TYPE_TIMER_FIRED -> Timer Fired."""
    words = EventType.Name(event_type).removeprefix("EVENT_TYPE_").split("_")
    return " ".join(word.capitalize() for word in words)


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chromium]:
    """One headless browser for the module; without one the module skips."""
    binary = find_chromium()
    if binary is None:
        pytest.skip(
            "no headless browser: the Web UI tests need Debian's `chromium` "
            "(`make test` installs it through scripts/ensure-test-tools.sh)"
        )
    folder = tmp_path_factory.mktemp("chromium")
    with Chromium(binary, folder / "profile", folder / "chromium.log") as browser:
        yield browser


@pytest_asyncio.fixture(scope="module")
async def ui_binary() -> Path:
    """The UI server, built on the first use of this machine; only a missing Go skips."""
    try:
        await asyncio.to_thread(build_ui_server, ui_server_home())
    except GoNotFoundError as exc:
        pytest.skip(f"no Go toolchain to build the Temporal Web UI: {exc}")
    return ui_server_home() / "server"


@pytest_asyncio.fixture(scope="module")
async def scene(
    ui_binary: Path, ui_server: Server, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Scene]:
    """A completed workflow and one waiting on its running activity, both listed, and the UI."""
    server = ui_server
    tq = f"ui-{uuid.uuid4().hex[:10]}"
    async with Worker(
        server.client,
        task_queue=tq,
        workflows=[OneActivityWorkflow, LongActivityWorkflow],
        activities=[greet, greet_after],
    ):
        completed = await server.client.start_workflow(
            OneActivityWorkflow.run, "UI", id=f"ui-done-{uuid.uuid4()}", task_queue=tq
        )
        result = await completed.result()
        history = await completed.fetch_history()
        pending = await server.client.start_workflow(
            LongActivityWorkflow.run, "UI", id=f"ui-open-{uuid.uuid4()}", task_queue=tq
        )

        async def activity_started() -> str:
            description = await pending.describe()
            activities = description.raw_description.pending_activities
            assert [a.state for a in activities] == [
                PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
            ]
            return activities[0].activity_id

        activity_id = await eventually_async(activity_started, timeout=30)

        async def both_listed() -> bool:
            statuses = {
                wf.id: wf.status async for wf in server.client.list_workflows(f"TaskQueue = '{tq}'")
            }
            assert statuses == {
                completed.id: WorkflowExecutionStatus.COMPLETED,
                pending.id: WorkflowExecutionStatus.RUNNING,
            }
            return True

        await eventually_async(both_listed, timeout=30)
        ui = WebUi(tmp_path_factory.mktemp("webui"), server.target, free_port())
        try:
            await asyncio.to_thread(ui.start)
            await asyncio.to_thread(ui.wait_ready)
            assert completed.result_run_id is not None and pending.result_run_id is not None
            yield Scene(
                server=server,
                ui=ui,
                task_queue=tq,
                completed=Run(completed.id, completed.result_run_id),
                completed_event_types=[ui_label(event.event_type) for event in history.events],
                completed_result=result,
                pending=Run(pending.id, pending.result_run_id),
                pending_activity_id=activity_id,
            )
        finally:
            await asyncio.to_thread(ui.stop)
            await pending.terminate("the Web UI test is over")


def rendered_text(chromium: Chromium, url: str, needles: list[str], shot: Path) -> str:
    """Loads `url` in a new tab and returns its text once it shows every needle.

    On failure the assertion names the missing needles and the screenshot saved to `shot`.
    """
    page = chromium.new_page()
    try:
        page.navigate(url)
        return page.wait_for_text(needles, timeout=_PAGE_TIMEOUT_S)
    except AssertionError as exc:
        raise AssertionError(f"{url}: {exc}\nscreenshot: {page.screenshot(shot)}") from None
    finally:
        page.close()


async def xfail_if_strom_lacks_describe_task_queue(scene: Scene) -> None:
    """Expects failure where Strom answers DescribeTaskQueue UNIMPLEMENTED.

    The UI's workflow page asks for the task queue's pollers before it shows anything, and
    stays on its loading skeleton when that request fails. Once Strom serves the RPC, the test
    runs for real.
    """
    if scene.server.kind != "strom":
        return
    request = DescribeTaskQueueRequest(
        namespace="default",
        task_queue=TaskQueue(name=scene.task_queue),
        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    )
    try:
        await scene.server.client.workflow_service.describe_task_queue(request, retry=False)
    except RPCError as exc:
        if exc.status == RPCStatusCode.UNIMPLEMENTED:
            pytest.xfail(
                "Strom answers DescribeTaskQueue UNIMPLEMENTED, and the UI's workflow page "
                "waits for it (issue 9, item 7)"
            )
        raise


async def test_the_workflow_list_shows_both_workflows(
    chromium: Chromium, scene: Scene, tmp_path: Path
) -> None:
    query = urllib.parse.quote(f'TaskQueue="{scene.task_queue}"')
    url = f"{scene.ui.url}/namespaces/default/workflows?query={query}"
    runs = [scene.completed, scene.pending]
    needles = [field for run in runs for field in (run.workflow_id, run.run_id)]
    needles += ["OneActivityWorkflow", "LongActivityWorkflow"]

    text = await asyncio.to_thread(rendered_text, chromium, url, needles, tmp_path / "list.png")

    # A row reads status, id, run id, type: each status must lead its own workflow's row.
    for status, run in (("COMPLETED", scene.completed), ("RUNNING", scene.pending)):
        assert re.search(rf"{status}\s+{re.escape(run.workflow_id)}", text, re.IGNORECASE)


async def test_a_history_shows_every_event_and_the_activity_type(
    chromium: Chromium, scene: Scene, tmp_path: Path
) -> None:
    await xfail_if_strom_lacks_describe_task_queue(scene)
    url = scene.page(scene.completed, "history")
    needles = [scene.completed.workflow_id, *scene.completed_event_types]
    needles.append(scene.completed_result)

    text = await asyncio.to_thread(rendered_text, chromium, url, needles, tmp_path / "history.png")

    assert "Activity Task Completed" in scene.completed_event_types  # the SDK saw the activity
    assert re.search(r"Activity Type\s+greet\s", text)


async def test_pending_activities_show_the_running_activity(
    chromium: Chromium, scene: Scene, tmp_path: Path
) -> None:
    await xfail_if_strom_lacks_describe_task_queue(scene)
    url = scene.page(scene.pending, "pending-activities")
    needles = [scene.pending.workflow_id, "greet_after", "Activity ID"]

    text = await asyncio.to_thread(rendered_text, chromium, url, needles, tmp_path / "pending.png")

    # The activity's id and state as the server describes them, shown by the UI.
    assert re.search(rf"Activity ID\s+{re.escape(scene.pending_activity_id)}\s", text)
    assert re.search(r"STARTED\s+greet_after", text, re.IGNORECASE)
