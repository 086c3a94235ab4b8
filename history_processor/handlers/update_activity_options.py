"""UpdateActivityOptions: new timeouts, task queue, retry policy or priority for pending
activities, or their scheduled options back (Temporal's api/updateactivityoptions)."""

from __future__ import annotations

from temporalio.api.activity.v1 import ActivityOptions
from temporalio.api.workflowservice.v1 import (
    UpdateActivityOptionsRequest,
    UpdateActivityOptionsResponse,
)

from history_processor import activity_options as opts
from history_processor.activity_ops import (
    activity_not_found,
    apply_options,
    current_options,
    invalid,
    scheduled_options,
    selected_ids,
)
from history_processor.builder import DecisionBuilder
from history_processor.handling import Env, reply_only, running_run
from history_processor.model import Command, Decision
from history_processor.state import ExecutionState
from schemas.reply import Reply

MSG_BOTH = "Both UpdateMask and RestoreOriginal are provided"
MSG_NO_OPTIONS = "ActivityOptions are not provided"
MSG_NO_MASK = "UpdateMask is not provided"


def handle(state: ExecutionState | None, command: Command, env: Env) -> Decision:
    """Updates the activity named by id, every pending one of a type, or all of them.

    The reply carries the options of the last activity updated. An activity that is not
    running is dispatched again with its new options once its backoff is over.
    """
    req: UpdateActivityOptionsRequest = command.payload
    if req.restore_original and req.HasField("update_mask") and req.update_mask.paths:
        return reply_only(invalid(MSG_BOTH))
    missing = running_run(state, command.workflow_id, req.execution.run_id)
    if missing is not None:
        return reply_only(missing)
    assert state is not None
    if not req.restore_original and not req.HasField("activity_options"):
        return reply_only(invalid(MSG_NO_OPTIONS))
    ids = selected_ids(state, req)
    if not ids:
        return reply_only(activity_not_found())
    if not req.restore_original and not req.HasField("update_mask"):
        return reply_only(invalid(MSG_NO_MASK))
    fields = opts.mask_paths(list(req.update_mask.paths))
    b = DecisionBuilder(state, env.now_ms)
    updated = ActivityOptions()
    for activity_id in ids:
        info = b.run.activity_by_id(activity_id)
        if info is None:
            return reply_only(activity_not_found())
        if req.restore_original:
            updated = scheduled_options(info)
        else:
            updated = current_options(info)
            try:
                opts.merge(updated, req.activity_options, fields)
                if any(field.startswith("retryPolicy.") for field in fields):
                    opts.validate_retry_policy(updated.retry_policy)
                opts.adjust(updated, info, state.task_queue, state.workflow_run_timeout_ms)
            except opts.OptionsError as error:
                return reply_only(invalid(str(error)))
        apply_options(b, info, updated)
    return b.finish(Reply.of(UpdateActivityOptionsResponse(activity_options=updated)))
