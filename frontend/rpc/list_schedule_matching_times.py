"""ListScheduleMatchingTimes: the schedule's action times in a range, asked of its workflow."""

from __future__ import annotations

from temporalio.api.workflowservice.v1 import (
    ListScheduleMatchingTimesRequest,
    ListScheduleMatchingTimesResponse,
)

from frontend import schedules
from frontend.context import Call, Env, require_namespace
from frontend.errors import invalid_argument
from schemas.schedules import names


async def handle(
    env: Env, request: ListScheduleMatchingTimesRequest, call: Call
) -> ListScheduleMatchingTimesResponse:
    """The times from the scheduler workflow's ``listMatchingTimes`` query."""
    require_namespace(env, request.namespace)
    schedules.require_schedule_id(request.schedule_id, env.config.max_id_length)
    schedules.require_valid_times(request)
    if not request.HasField("start_time") or not request.HasField("end_time"):
        raise invalid_argument("StartTime and EndTime are required")
    return await schedules.query(
        env,
        call,
        request.namespace,
        request.schedule_id,
        names.QUERY_MATCHING_TIMES,
        request,
        ListScheduleMatchingTimesResponse,
    )
