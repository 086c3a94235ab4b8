"""Workflows whose histories hold markers, memo and search attribute upserts (issue 9, 5-6)."""

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeKey

with workflow.unsafe.imports_passed_through():
    from tests.workflows.activities import greet, greet_after

PATCH_ID = "strom-change"
# Custom search attributes the tests register (OperatorService) before they run these.
KEYWORD = SearchAttributeKey.for_keyword("StromTestKeyword")
INT = SearchAttributeKey.for_int("StromTestInt")
CUSTOM_ATTRIBUTES = (KEYWORD, INT)


@workflow.defn
class PatchedWorkflow:
    """Takes the new branch of a patch: a core_patch marker and TemporalChangeVersion."""

    @workflow.run
    async def run(self, name: str) -> str:
        if workflow.patched(PATCH_ID):
            return f"new {name}"
        return f"old {name}"


@workflow.defn
class DeprecatedPatchWorkflow:
    """Keeps only the deprecated patch's marker."""

    @workflow.run
    async def run(self, name: str) -> str:
        workflow.deprecate_patch(PATCH_ID)
        return f"deprecated {name}"


@workflow.defn
class LocalActivitiesWorkflow:
    """A quick local activity, then one that runs `seconds` (longer than the task timeout
    makes the worker heartbeat its workflow task meanwhile)."""

    @workflow.run
    async def run(self, name: str, seconds: float) -> list[str]:
        quick = await workflow.execute_local_activity(
            greet, name, start_to_close_timeout=timedelta(seconds=10)
        )
        slow = await workflow.execute_local_activity(
            greet_after, args=[name, seconds], start_to_close_timeout=timedelta(seconds=60)
        )
        return [quick, slow]


@workflow.defn
class UpsertWorkflow:
    """Changes its memo (one key added, one removed) and sets two custom search attributes."""

    @workflow.run
    async def run(self, name: str) -> dict[str, Any]:
        workflow.upsert_memo({"note": f"upserted by {name}", "removed": None})
        workflow.upsert_search_attributes([KEYWORD.value_set(name), INT.value_set(7)])
        return {key: workflow.memo_value(key) for key in workflow.memo()}


@workflow.defn
class HelloWorkflow:
    """Answers at once: the whole run is its first workflow task (eager start)."""

    @workflow.run
    async def run(self, name: str) -> str:
        return f"Hello, {name}!"


MARKER_WORKFLOWS = [
    PatchedWorkflow,
    DeprecatedPatchWorkflow,
    LocalActivitiesWorkflow,
    UpsertWorkflow,
    HelloWorkflow,
]
