"""A workflow of three activities in a row, the steady load of the fault tests."""

from datetime import timedelta

from temporalio import workflow

STEPS = 3


@workflow.defn
class ThreeStepWorkflow:
    """Runs the `record_step` activity three times and joins the answers."""

    @workflow.run
    async def run(self, name: str) -> str:
        parts = []
        for step in range(STEPS):
            parts.append(
                await workflow.execute_activity(
                    "record_step",
                    f"{name}:{step}",
                    start_to_close_timeout=timedelta(seconds=20),
                    result_type=str,
                )
            )
        return "|".join(parts)
