"""UpdateActivityOptions' merge and checks (Temporal's activityoptions.MergeActivityOptions,
retrypolicy.Validate and the activity attributes validator)."""

from __future__ import annotations

from temporalio.api.activity.v1 import ActivityOptions
from temporalio.api.command.v1 import ScheduleActivityTaskCommandAttributes
from temporalio.api.common.v1 import ActivityType, Priority, RetryPolicy

from history_processor.commands.context import CommandFailure
from history_processor.commands.schedule_activity_task import _duration_error, _timeouts
from history_processor.state import ActivityInfo, duration_ms

_TIMEOUTS = ("schedule_to_close", "schedule_to_start", "start_to_close", "heartbeat")
_PRIORITY_FIELDS = {
    "priority.priorityKey": "priority_key",
    "priority.fairnessKey": "fairness_key",
    "priority.fairnessWeight": "fairness_weight",
}
_RETRY_FIELDS = {
    "retryPolicy.initialInterval": "initial_interval",
    "retryPolicy.backoffCoefficient": "backoff_coefficient",
    "retryPolicy.maximumInterval": "maximum_interval",
    "retryPolicy.maximumAttempts": "maximum_attempts",
}


class OptionsError(Exception):
    """An update Temporal refuses with INVALID_ARGUMENT; the message is Temporal's."""


def mask_paths(paths: list[str]) -> set[str]:
    """Temporal's ParseFieldMask: every path in camelCase (snake_case parts converted)."""
    return {".".join(_camel(part) for part in path.split(".")) for path in paths}


def _camel(part: str) -> str:
    head, *rest = part.split("_")
    return head + "".join(word[:1].upper() + word[1:] for word in rest)


def merge(into: ActivityOptions, source: ActivityOptions, fields: set[str]) -> None:
    """Copies the masked fields of `source` into `into`; unknown paths are ignored.

    Raises:
        OptionsError: a masked sub-field whose parent `source` does not carry.
    """
    if "taskQueue.name" in fields:
        if not source.HasField("task_queue"):
            raise OptionsError("TaskQueue is not provided")
        into.task_queue.name = source.task_queue.name
    for name in _TIMEOUTS:
        if _camel(f"{name}_timeout") in fields:
            into.ClearField(f"{name}_timeout")  # type: ignore[arg-type]
            if source.HasField(f"{name}_timeout"):  # type: ignore[arg-type]
                getattr(into, f"{name}_timeout").CopyFrom(getattr(source, f"{name}_timeout"))
    _merge_message(into, source, fields, "priority", _PRIORITY_FIELDS, "Priority")
    _merge_message(into, source, fields, "retryPolicy", _RETRY_FIELDS, "RetryPolicy")


def _merge_message(
    into: ActivityOptions,
    source: ActivityOptions,
    fields: set[str],
    path: str,
    sub_fields: dict[str, str],
    label: str,
) -> None:
    field = "priority" if path == "priority" else "retry_policy"
    if path in fields:
        if field == "retry_policy" and not source.HasField(field):  # type: ignore[arg-type]
            raise OptionsError(f"{label} is not provided")
        into.ClearField(field)  # type: ignore[arg-type]
        if source.HasField(field):  # type: ignore[arg-type]
            getattr(into, field).CopyFrom(getattr(source, field))
    for sub_path, attr in sub_fields.items():
        if sub_path in fields:
            if not source.HasField(field):  # type: ignore[arg-type]
                raise OptionsError(f"{label} is not provided")
            target: Priority | RetryPolicy = getattr(into, field)
            value = getattr(getattr(source, field), attr)
            if isinstance(value, int | float | str):
                setattr(target, attr, value)
            else:
                getattr(target, attr).CopyFrom(value)


def validate_retry_policy(policy: RetryPolicy) -> None:
    """Temporal's retrypolicy.Validate.

    Raises:
        OptionsError: Temporal's message.
    """
    if policy.maximum_attempts == 1:
        return
    why = _duration_error(policy.initial_interval)
    if why is not None:
        raise OptionsError(f"invalid InitialInterval set on retry policy: {why}")
    if policy.backoff_coefficient < 1:
        raise OptionsError("BackoffCoefficient cannot be less than 1 on retry policy.")
    why = _duration_error(policy.maximum_interval)
    if why is not None:
        raise OptionsError(f"invalid MaximumInterval set on retry policy: {why}")
    maximum = duration_ms(policy.maximum_interval)
    if 0 < maximum < duration_ms(policy.initial_interval):
        raise OptionsError("MaximumInterval cannot be less than InitialInterval on retry policy.")
    if policy.maximum_attempts < 0:
        raise OptionsError("MaximumAttempts cannot be negative on retry policy.")


def adjust(
    options: ActivityOptions, info: ActivityInfo, workflow_task_queue: str, run_timeout_ms: int
) -> None:
    """Temporal's adjustActivityOptions: the timeouts checked and normalized as a
    ScheduleActivityTask's are (and an empty task queue is the workflow's).

    Raises:
        OptionsError: Temporal's message.
    """
    attrs = ScheduleActivityTaskCommandAttributes(
        activity_id=info.activity_id, activity_type=ActivityType(name=info.activity_type)
    )
    for name in _TIMEOUTS:
        getattr(attrs, f"{name}_timeout").CopyFrom(getattr(options, f"{name}_timeout"))
    try:
        values = _timeouts(attrs, run_timeout_ms)
    except CommandFailure as failure:
        raise OptionsError(failure.detail) from None
    for name, value in zip(_TIMEOUTS, values, strict=True):
        getattr(options, f"{name}_timeout").FromMilliseconds(value)
    if not options.task_queue.name:
        options.task_queue.name = workflow_task_queue
