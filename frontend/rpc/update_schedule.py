"""UpdateSchedule: a new schedule for the scheduler workflow, as its ``update`` signal."""

from __future__ import annotations

from temporalio.api.workflowservice.v1 import UpdateScheduleRequest, UpdateScheduleResponse

from frontend import schedules
from frontend.context import Call, Env, require_namespace
from frontend.errors import invalid_argument
from frontend.search_attributes import validate_for_start
from schemas.schedules import names


async def handle(env: Env, request: UpdateScheduleRequest, call: Call) -> UpdateScheduleResponse:
    """Replaces the schedule's spec, action, policies and state; checks come first."""
    namespace = require_namespace(env, request.namespace)
    max_id = env.config.max_id_length
    schedules.require_schedule_id(request.schedule_id, max_id)
    schedules.require_valid_times(request)
    if len(request.request_id) > max_id:
        raise invalid_argument("RequestId length exceeds limit.")
    update = UpdateScheduleRequest()
    update.CopyFrom(request)
    update.schedule.CopyFrom(schedules.canonical_schedule(request.schedule, max_id, namespace))
    if update.HasField("search_attributes"):
        validate_for_start(update.search_attributes, namespace)
    await schedules.describe_workflow(env, call, request.namespace, request.schedule_id)
    await schedules.signal(
        env,
        call,
        request.namespace,
        request.schedule_id,
        names.SIGNAL_UPDATE,
        update,
        request.identity,
        request.request_id,
    )
    return UpdateScheduleResponse()
