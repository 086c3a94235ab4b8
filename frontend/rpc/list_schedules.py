"""ListSchedules: running scheduler workflows from visibility, their list info from the memo."""

from __future__ import annotations

from temporalio.api.schedule.v1 import ScheduleListEntry, ScheduleListInfo
from temporalio.api.workflowservice.v1 import (
    ListSchedulesRequest,
    ListSchedulesResponse,
    ListWorkflowExecutionsRequest,
)
from temporalio.converter import default as default_converter

from frontend import schedules
from frontend.context import Call, Env, require_namespace
from frontend.rpc import list_workflow_executions
from schemas.schedules import names

BASE_QUERY = (
    f"{names.NAMESPACE_DIVISION_ATTRIBUTE} = '{names.NAMESPACE_DIVISION}' "
    "AND ExecutionStatus = 'Running'"
)


async def handle(env: Env, request: ListSchedulesRequest, call: Call) -> ListSchedulesResponse:
    """One page of schedules; ``query`` narrows it like a workflow list filter."""
    require_namespace(env, request.namespace)
    query = BASE_QUERY
    if request.query.strip():
        query = f"{BASE_QUERY} AND ({request.query})"
    page = await list_workflow_executions.handle(
        env,
        ListWorkflowExecutionsRequest(
            namespace=request.namespace,
            page_size=request.maximum_page_size,
            next_page_token=request.next_page_token,
            query=query,
        ),
        Call("ListWorkflowExecutions", call.deadline),
    )
    out = ListSchedulesResponse(next_page_token=page.next_page_token)
    for execution in page.executions:
        entry = ScheduleListEntry(
            schedule_id=execution.execution.workflow_id.removeprefix(names.WORKFLOW_ID_PREFIX),
            info=_list_info(execution.memo.fields.get(names.MEMO_INFO)),
        )
        memo = schedules.clean_memo(execution.memo)
        if memo is not None:
            entry.memo.CopyFrom(memo)
        attributes = schedules.clean_search_attributes(execution.search_attributes)
        if attributes is not None:
            entry.search_attributes.CopyFrom(attributes)
        out.schedules.append(entry)
    return out


def _list_info(payload: object) -> ScheduleListInfo:
    if payload is None:
        return ScheduleListInfo()  # not written yet: the scheduler's first task is pending
    try:
        [raw] = default_converter().payload_converter.from_payloads([payload], [bytes])  # type: ignore[list-item]
        return ScheduleListInfo.FromString(raw)
    except Exception:
        return ScheduleListInfo()
