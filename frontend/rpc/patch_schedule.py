"""PatchSchedule: trigger, backfill, pause or unpause, as the scheduler's ``patch`` signal."""

from __future__ import annotations

from temporalio.api.workflowservice.v1 import PatchScheduleRequest, PatchScheduleResponse

from frontend import schedules
from frontend.context import Call, Env, require_namespace
from frontend.errors import invalid_argument
from schemas.schedules import names

MAX_BACKFILLS = 100


async def handle(env: Env, request: PatchScheduleRequest, call: Call) -> PatchScheduleResponse:
    """Sends the patch; an unknown schedule is NOT_FOUND."""
    require_namespace(env, request.namespace)
    max_id = env.config.max_id_length
    schedules.require_schedule_id(request.schedule_id, max_id)
    schedules.require_valid_times(request)
    if len(request.request_id) > max_id:
        raise invalid_argument("RequestId length exceeds limit.")
    if len(request.patch.backfill_request) > MAX_BACKFILLS:
        raise invalid_argument(f"Too many backfill requests in a single patch, max {MAX_BACKFILLS}")
    for backfill in request.patch.backfill_request:
        if not backfill.HasField("start_time") or not backfill.HasField("end_time"):
            raise invalid_argument("Backfill request must have start time and end time")
    await schedules.signal(
        env,
        call,
        request.namespace,
        request.schedule_id,
        names.SIGNAL_PATCH,
        request.patch,
        request.identity,
        request.request_id,
    )
    return PatchScheduleResponse()
