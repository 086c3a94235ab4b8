"""The batch workflow (Temporal's ``temporal-sys-batch-workflow-protobuf``), run on the SDK.

One run per job, started by the frontend's StartBatchOperation with the job id as workflow id.
It runs the batch activity once (retried with Temporal's policy, resuming from its heartbeat),
then writes the job's outcome into its memo, where DescribeBatchOperation reads it.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

from schemas.batch import names
from schemas.batch.args import BatchArgs, Progress

RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=10),
    backoff_coefficient=1.7,
    maximum_interval=timedelta(minutes=5),
)
"""Temporal's batchActivityRetryPolicy."""
INFINITE = timedelta(days=20 * 365)


# Not sandboxed: the module is Strom's own, deterministic code.
@workflow.defn(name=names.WORKFLOW_TYPE, sandboxed=False)
class BatchWorkflow:
    """Runs one batch job."""

    @workflow.run
    async def run(self, args: BatchArgs) -> Progress:
        """The job's final progress."""
        result: Progress = await workflow.execute_activity(
            names.ACTIVITY_TYPE,
            args,
            result_type=Progress,
            schedule_to_start_timeout=timedelta(minutes=5),
            start_to_close_timeout=INFINITE,
            heartbeat_timeout=timedelta(seconds=names.HEARTBEAT_TIMEOUT_S),
            retry_policy=RETRY,
        )
        workflow.upsert_memo(
            {names.MEMO_STATS: {"NumSuccess": result.SuccessCount, "NumFailure": result.ErrorCount}}
        )
        return result
