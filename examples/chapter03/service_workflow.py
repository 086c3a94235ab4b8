"""The seed's chapter-3 workflow: it logs a request's steps through the service, returns a dict."""

from temporalio import workflow

TASK_QUEUE = "book-examples"


@workflow.defn
class ServiceArchitectureWorkflow:
    """Demonstrates the service architecture: every step is logged, the result is a dict."""

    @workflow.run
    async def run(self) -> dict:
        workflow.logger.info("Workflow started - event logged in history")
        steps = ["Frontend processing", "History service update", "Task scheduling"]
        for number, step in enumerate(steps, 1):
            workflow.logger.info(f"Step {number}: {step}")
        workflow.logger.info("Workflow completed - final event in history")
        return {"message": "Architecture demonstration complete", "steps_completed": len(steps)}
