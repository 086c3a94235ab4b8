"""All test workflows and activities, for workers that run any of them."""

from tests.workflows.activities import ALL_ACTIVITIES
from tests.workflows.cancellation import CleanupOnCancelWorkflow, WaitForCancelWorkflow
from tests.workflows.flaky_workflow_task import FlakyWorkflowTaskWorkflow
from tests.workflows.one_activity import OneActivityWorkflow
from tests.workflows.parallel_activities import ParallelActivitiesWorkflow
from tests.workflows.retries_exhausted import RetriesExhaustedWorkflow
from tests.workflows.retry_activity import RetryActivityWorkflow
from tests.workflows.signal_collector import SignalCollectorWorkflow
from tests.workflows.slow_activity import SlowActivityWorkflow
from tests.workflows.staggered_activities import StaggeredActivitiesWorkflow
from tests.workflows.sync_activity import SyncActivityWorkflow

ALL_WORKFLOWS = [
    OneActivityWorkflow,
    ParallelActivitiesWorkflow,
    RetryActivityWorkflow,
    RetriesExhaustedWorkflow,
    SyncActivityWorkflow,
    FlakyWorkflowTaskWorkflow,
    SlowActivityWorkflow,
    StaggeredActivitiesWorkflow,
    SignalCollectorWorkflow,
    WaitForCancelWorkflow,
    CleanupOnCancelWorkflow,
]

# Modules a worker must pass through its workflow sandbox (shared counters of the flaky one).
SANDBOX_PASSTHROUGH = ("tests.workflows.counters",)

__all__ = ["ALL_ACTIVITIES", "ALL_WORKFLOWS", "SANDBOX_PASSTHROUGH"]
