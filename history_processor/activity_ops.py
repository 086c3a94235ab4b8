"""What the operator's activity RPCs share (Temporal's workflow/activity.go helpers).

Pause, unpause, reset and new options change a pending activity without writing events:
each is a state update. An activity that is not running gets a fresh dispatch through its
retry deadline (Temporal's RegenerateActivityRetryTask); a paused one has no deadlines at all.
"""

from __future__ import annotations

import hashlib

from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import Message
from temporalio.api.activity.v1 import ActivityOptions
from temporalio.api.common.v1 import Priority
from temporalio.api.common.v1 import RetryPolicy as RetryPolicyProto
from temporalio.api.enums.v1 import PendingActivityState
from temporalio.api.history.v1 import ActivityTaskScheduledEventAttributes
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflow.v1 import PendingActivityInfo

from history_processor import events as ev
from history_processor import updates as upd
from history_processor.builder import DecisionBuilder
from history_processor.handling import Env, not_found, reply_only, running_run
from history_processor.model import Command, Decision
from history_processor.state import ActivityInfo, ExecutionState, duration_ms
from schemas.reply import Code, Reply

# Temporal's consts.ErrActivityNotFound.
MSG_ACTIVITY_NOT_FOUND = (
    "Can't find pending activity with such ID. Invalid activityID or activity already completed"
)


def activity_not_found() -> Reply:
    """Temporal's NOT_FOUND for an activity id or type no pending activity has."""
    return not_found(MSG_ACTIVITY_NOT_FOUND)


def selected_ids(state: ExecutionState, request: Message) -> list[str]:
    """The activity ids a request's `activity` oneof names (Temporal's getActivityIDs).

    `id` names one (found or not); `type` every pending activity of that type;
    `match_all` / `unpause_all` every pending activity. Ordered by scheduled event id.
    """
    which = request.WhichOneof("activity")
    if which == "id":
        return [str(getattr(request, "id"))]  # noqa: B009 - `id` is the proto field
    pending = sorted(state.activities.values(), key=lambda info: info.scheduled_event_id)
    if which == "type":
        wanted = str(getattr(request, "type"))  # noqa: B009 - `type` is the proto field
        return [info.activity_id for info in pending if info.activity_type == wanted]
    if which in ("match_all", "unpause_all"):
        return [info.activity_id for info in pending]
    return []


def targets(
    state: ExecutionState | None, command: Command, request: Message, env: Env
) -> tuple[DecisionBuilder, list[ActivityInfo]] | Decision:
    """The running run's builder and the pending activities `request` names, in order; or
    the decision that refuses the request (no such run, or no such activity)."""
    execution = getattr(request, "execution")  # noqa: B009 - every activity request has it
    missing = running_run(state, command.workflow_id, execution.run_id)
    if missing is not None:
        return reply_only(missing)
    assert state is not None
    ids = selected_ids(state, request)
    if not ids:
        return reply_only(activity_not_found())
    b = DecisionBuilder(state, env.now_ms)
    infos = [b.run.activity_by_id(activity_id) for activity_id in ids]
    if any(info is None for info in infos):
        return reply_only(activity_not_found())
    return b, [info for info in infos if info is not None]


def jitter_offset_ms(env: Env, jitter: Duration) -> int:
    """A random delay below `jitter` (Temporal's rand.Int63n(jitter)), 0 without jitter.

    The decider draws no randomness of its own: the offset comes from a fresh id of the
    environment, so replays of a committed decision never recompute it.
    """
    limit = duration_ms(jitter)
    if limit <= 0:
        return 0
    digest = hashlib.sha256(env.new_id().encode()).digest()
    return int.from_bytes(digest[:8], "big") % limit


def reschedule(b: DecisionBuilder, info: ActivityInfo, at_ms: int) -> None:
    """Temporal's RegenerateActivityRetryTask: the next attempt goes out at `at_ms`."""
    b.add_update(
        upd.ActivityRescheduled(scheduled_event_id=info.scheduled_event_id, scheduled_time_ms=at_ms)
    )


def unpause(
    b: DecisionBuilder,
    info: ActivityInfo,
    env: Env,
    jitter: Duration,
    reset_attempts: bool = False,
    reset_heartbeat: bool = False,
) -> None:
    """Temporal's UnpauseActivity: an activity that is not running is dispatched again now
    (plus jitter); a running one just stops answering `activity_paused`."""
    b.add_update(
        upd.ActivityUnpaused(
            scheduled_event_id=info.scheduled_event_id,
            reset_attempts=reset_attempts,
            reset_heartbeat=reset_heartbeat,
        )
    )
    current = b.run.activities[info.scheduled_event_id]
    if not current.is_started:
        reschedule(b, current, b.now_ms + jitter_offset_ms(env, jitter))


def next_scheduled_time_ms(info: ActivityInfo) -> int:
    """Temporal's GetNextScheduledTime: a retry waits its backoff after the last attempt."""
    if info.attempt <= 1:
        return info.scheduled_time_ms
    policy = info.retry_policy
    interval = int(policy.initial_interval_ms * policy.backoff_coefficient ** (info.attempt - 1))
    if policy.maximum_interval_ms and (interval <= 0 or interval > policy.maximum_interval_ms):
        interval = policy.maximum_interval_ms
    if interval > 0:
        return info.last_attempt_complete_time_ms + interval
    return info.scheduled_time_ms


def current_priority(info: ActivityInfo) -> Priority | None:
    """The activity's priority: the one options set, else the scheduled one, else None."""
    if info.priority:
        return Priority.FromString(info.priority)
    scheduled = ActivityTaskScheduledEventAttributes.FromString(info.scheduled_attributes)
    return scheduled.priority if scheduled.HasField("priority") else None


def current_options(info: ActivityInfo) -> ActivityOptions:
    """The options an update merges into (Temporal's mergeInto): the task queue by name,
    the retry policy without its error types."""
    policy = info.retry_policy
    retry = RetryPolicyProto(
        backoff_coefficient=policy.backoff_coefficient, maximum_attempts=policy.maximum_attempts
    )
    retry.initial_interval.FromMilliseconds(policy.initial_interval_ms)
    retry.maximum_interval.FromMilliseconds(policy.maximum_interval_ms)
    options = ActivityOptions(
        task_queue=TaskQueue(name=info.task_queue),
        schedule_to_close_timeout=ev.duration(info.schedule_to_close_timeout_ms),
        schedule_to_start_timeout=ev.duration(info.schedule_to_start_timeout_ms),
        start_to_close_timeout=ev.duration(info.start_to_close_timeout_ms),
        heartbeat_timeout=ev.duration(info.heartbeat_timeout_ms),
        retry_policy=retry,
    )
    priority = current_priority(info)
    if priority is not None:
        options.priority.CopyFrom(priority)
    return options


def scheduled_options(info: ActivityInfo) -> ActivityOptions:
    """The options the activity was scheduled with (Temporal's restoreOriginalOptions)."""
    attrs = ActivityTaskScheduledEventAttributes.FromString(info.scheduled_attributes)
    options = ActivityOptions(
        task_queue=TaskQueue(name=attrs.task_queue.name),
        schedule_to_close_timeout=attrs.schedule_to_close_timeout,
        schedule_to_start_timeout=attrs.schedule_to_start_timeout,
        start_to_close_timeout=attrs.start_to_close_timeout,
        heartbeat_timeout=attrs.heartbeat_timeout,
        retry_policy=attrs.retry_policy,
    )
    if attrs.HasField("priority"):
        options.priority.CopyFrom(attrs.priority)
    return options


def set_options(b: DecisionBuilder, info: ActivityInfo, options: ActivityOptions) -> None:
    """Records `options` as the activity's (Temporal's updateActivityOptions body)."""
    retry = options.retry_policy
    b.add_update(
        upd.ActivityOptionsUpdated(
            scheduled_event_id=info.scheduled_event_id,
            task_queue=options.task_queue.name,
            schedule_to_close_timeout_ms=duration_ms(options.schedule_to_close_timeout),
            schedule_to_start_timeout_ms=duration_ms(options.schedule_to_start_timeout),
            start_to_close_timeout_ms=duration_ms(options.start_to_close_timeout),
            heartbeat_timeout_ms=duration_ms(options.heartbeat_timeout),
            initial_interval_ms=duration_ms(retry.initial_interval),
            backoff_coefficient=retry.backoff_coefficient,
            maximum_interval_ms=duration_ms(retry.maximum_interval),
            maximum_attempts=retry.maximum_attempts,
            priority=options.priority.SerializeToString() if options.HasField("priority") else b"",
        )
    )


def apply_options(b: DecisionBuilder, info: ActivityInfo, options: ActivityOptions) -> None:
    """Sets the options; an activity that is not running is dispatched again with them
    after its backoff (Temporal: the old task is dropped, a new retry task is made)."""
    set_options(b, info, options)
    current = b.run.activities[info.scheduled_event_id]
    if not current.is_started:
        reschedule(b, current, next_scheduled_time_ms(current))


def describe_pause(info: ActivityInfo, out: PendingActivityInfo) -> None:
    """Temporal's GetPendingActivityInfo for a paused activity: PAUSED when no worker runs
    it, PAUSE_REQUESTED while one still does, and who paused it when."""
    out.paused = info.paused
    if info.pause is None:
        return
    if out.state == PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED:
        out.state = PendingActivityState.PENDING_ACTIVITY_STATE_PAUSED
    elif out.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED:
        out.state = PendingActivityState.PENDING_ACTIVITY_STATE_PAUSE_REQUESTED
    out.pause_info.pause_time.FromMilliseconds(info.pause.time_ms)
    out.pause_info.manual.identity = info.pause.identity
    out.pause_info.manual.reason = info.pause.reason


def invalid(message: str) -> Reply:
    """Temporal's INVALID_ARGUMENT."""
    return Reply.error(Code.INVALID_ARGUMENT, message)
