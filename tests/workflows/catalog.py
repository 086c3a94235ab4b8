"""All test workflows and activities, for workers that run any of them."""

from tests.workflows.activities import ALL_ACTIVITIES as _GREETERS
from tests.workflows.activity_cancellation import AsyncCompletionWorkflow, CancelActivityWorkflow
from tests.workflows.cancellable import CANCELLABLE_ACTIVITIES
from tests.workflows.cancellation import CleanupOnCancelWorkflow, WaitForCancelWorkflow
from tests.workflows.children import CHILD_WORKFLOWS
from tests.workflows.flaky_workflow_task import FlakyWorkflowTaskWorkflow
from tests.workflows.markers import MARKER_WORKFLOWS
from tests.workflows.one_activity import OneActivityWorkflow
from tests.workflows.parallel_activities import ParallelActivitiesWorkflow
from tests.workflows.retries_exhausted import RetriesExhaustedWorkflow
from tests.workflows.retry_activity import RetryActivityWorkflow
from tests.workflows.runs import RUN_WORKFLOWS
from tests.workflows.signal_collector import SignalCollectorWorkflow
from tests.workflows.slow_activity import SlowActivityWorkflow
from tests.workflows.staggered_activities import StaggeredActivitiesWorkflow
from tests.workflows.sync_activity import SyncActivityWorkflow
from tests.workflows.timers import TIMER_WORKFLOWS
from tests.workflows.updater import UpdaterWorkflow

ALL_WORKFLOWS = [
    OneActivityWorkflow,
    ParallelActivitiesWorkflow,
    RetryActivityWorkflow,
    RetriesExhaustedWorkflow,
    SyncActivityWorkflow,
    FlakyWorkflowTaskWorkflow,
    SlowActivityWorkflow,
    StaggeredActivitiesWorkflow,
    *MARKER_WORKFLOWS,
    *TIMER_WORKFLOWS,
    CancelActivityWorkflow,
    AsyncCompletionWorkflow,
    SignalCollectorWorkflow,
    WaitForCancelWorkflow,
    CleanupOnCancelWorkflow,
    *RUN_WORKFLOWS,
    *CHILD_WORKFLOWS,
    UpdaterWorkflow,
]
ALL_ACTIVITIES = [*_GREETERS, *CANCELLABLE_ACTIVITIES]

# Modules a worker must pass through its workflow sandbox (shared counters of the flaky one).
SANDBOX_PASSTHROUGH = ("tests.workflows.counters",)

__all__ = ["ALL_ACTIVITIES", "ALL_WORKFLOWS", "SANDBOX_PASSTHROUGH"]
