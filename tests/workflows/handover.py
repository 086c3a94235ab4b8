"""Two workers' views of workflow type "HandOver": one gets stuck in its workflow task."""

import time
from pathlib import Path

from temporalio import workflow


@workflow.defn(name="HandOver")
class HandOverWorkflow:
    """Completes at once."""

    @workflow.run
    async def run(self, marker: str) -> str:
        return "handed over"


@workflow.defn(name="HandOver")
class StuckHandOverWorkflow:
    """Says it holds the workflow task (the marker file), then never finishes it."""

    @workflow.run
    async def run(self, marker: str) -> str:
        with workflow.unsafe.sandbox_unrestricted():
            Path(marker).write_text("holding the workflow task")
            time.sleep(3600)
        return "never"
