"""DescribeSchedule: the scheduler workflow's describe query, with its memo and attributes."""

from __future__ import annotations

from temporalio.api.workflowservice.v1 import DescribeScheduleRequest, DescribeScheduleResponse

from frontend import schedules
from frontend.context import Call, Env, require_namespace
from schemas.schedules import names


async def handle(
    env: Env, request: DescribeScheduleRequest, call: Call
) -> DescribeScheduleResponse:
    """Describes the schedule; a deleted or unknown one is NOT_FOUND."""
    require_namespace(env, request.namespace)
    schedules.require_schedule_id(request.schedule_id, env.config.max_id_length)
    described = await schedules.describe_workflow(env, call, request.namespace, request.schedule_id)
    answer = await schedules.query(
        env,
        call,
        request.namespace,
        request.schedule_id,
        names.QUERY_DESCRIBE,
        None,
        DescribeScheduleResponse,
    )
    info = described.workflow_execution_info
    memo = schedules.clean_memo(info.memo)
    if memo is not None:
        answer.memo.CopyFrom(memo)
    attributes = schedules.clean_search_attributes(info.search_attributes)
    if attributes is not None:
        answer.search_attributes.CopyFrom(attributes)
    _clean_spec(answer)
    return answer


def _clean_spec(answer: DescribeScheduleResponse) -> None:
    """Temporal shows ranges with an explicit end and a step of at least 1."""
    spec = answer.schedule.spec
    for cal in (*spec.structured_calendar, *spec.exclude_structured_calendar):
        for ranges in (
            cal.second,
            cal.minute,
            cal.hour,
            cal.day_of_month,
            cal.month,
            cal.year,
            cal.day_of_week,
        ):
            for r in ranges:
                r.end = max(r.end, r.start)
                r.step = r.step or 1
