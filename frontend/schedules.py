"""What the schedule RPCs share: the scheduler workflow of a schedule, reached through the
frontend's own start, signal, query, describe and terminate handlers (as Temporal's frontend
reaches it through its history service)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, TypeVar

from google.protobuf.message import Message
from temporalio.api.common.v1 import Memo, Payload, Payloads, SearchAttributes, WorkflowExecution
from temporalio.api.enums.v1 import WorkflowExecutionStatus
from temporalio.api.query.v1 import WorkflowQuery
from temporalio.api.schedule.v1 import Schedule, ScheduleListInfo
from temporalio.api.workflowservice.v1 import (
    DescribeWorkflowExecutionRequest,
    DescribeWorkflowExecutionResponse,
    QueryWorkflowRequest,
    SignalWorkflowExecutionRequest,
)
from temporalio.converter import default as default_converter

from frontend import validation
from frontend.context import Call, Env
from frontend.errors import ServiceError, internal, invalid_argument, not_found
from frontend.search_attributes import validate_for_start
from schemas.namespaces import Namespace
from schemas.schedules import names
from schemas.schedules.calendar import SpecError
from schemas.schedules.spec import CompiledSpec, canonicalize

M = TypeVar("M", bound=Message)

FUTURE_ACTIONS_FOR_LIST = 5

HIDDEN_ATTRIBUTES = (
    names.SCHEDULE_PAUSED,
    "TemporalScheduleInfoJSON",
    "BinaryChecksums",
    "BuildIds",
    "TemporalNamespaceDivision",
)
"""Search attributes of a scheduler workflow that are no business of the schedule's user."""


def workflow_id(schedule_id: str) -> str:
    """The scheduler workflow's id."""
    return names.WORKFLOW_ID_PREFIX + schedule_id


def require_schedule_id(schedule_id: str, max_id: int) -> None:
    """Temporal's checks of a schedule id."""
    if not schedule_id:
        raise invalid_argument("ScheduleId is not set on request.")
    validation.validate_workflow_id(workflow_id(schedule_id), max_id)


# google.protobuf.Timestamp's valid range: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z.
_MIN_SECONDS, _MAX_SECONDS = -62_135_596_800, 253_402_300_799


def require_valid_times(message: Message, path: str = "") -> None:
    """Every Timestamp inside `message` lies in protobuf's valid range (0001 to 9999).

    The scheduler receives requests as JSON, which cannot hold other times.

    Raises:
        ServiceError: INVALID_ARGUMENT naming the first field out of range.
    """
    for field, value in message.ListFields():
        name = f"{path}{field.name}"
        if field.message_type is None:
            continue
        for item in [value] if isinstance(value, Message) else value:
            if not isinstance(item, Message):
                continue  # a map of scalars
            if field.message_type.full_name == "google.protobuf.Timestamp":
                seconds, nanos = item.seconds, item.nanos  # type: ignore[attr-defined]
                if not _MIN_SECONDS <= seconds <= _MAX_SECONDS or not 0 <= nanos < 10**9:
                    raise invalid_argument(f"{name} is out of range: {seconds}s {nanos}ns")
            else:
                require_valid_times(item, f"{name}.")


def canonical_schedule(schedule: Schedule, max_id: int, namespace: Namespace) -> Schedule:
    """The schedule with its spec in canonical form, its action checked as Temporal does;
    the action's search attributes are checked and typed as a start's are.

    Raises:
        ServiceError: INVALID_ARGUMENT with Temporal's message.
    """
    out = Schedule()
    out.CopyFrom(schedule)
    try:
        out.spec.CopyFrom(canonicalize(schedule.spec))
    except SpecError as err:
        raise invalid_argument(str(err)) from None
    if out.policies.HasField("catchup_window"):
        validation.validate_duration(
            out.policies, "catchup_window", "An invalid CatchupWindow is set on request."
        )
    if out.action.HasField("start_workflow"):
        action = out.action.start_workflow
        validation.validate_workflow_id(
            action.workflow_id + names.APPENDED_TIMESTAMP_EXAMPLE, max_id
        )
        if not action.workflow_type.name:
            raise invalid_argument("WorkflowType is not set on request.")
        validation.validate_length(
            action.workflow_type.name, max_id, "WorkflowType length exceeds limit."
        )
        validation.validate_task_queue(action, "task_queue", max_id)
        if action.cron_schedule:
            raise invalid_argument("Scheduled workflow must not contain CronSchedule")
        if action.workflow_id_reuse_policy not in (0, 1):
            raise invalid_argument("Scheduled workflow must not contain WorkflowIDReusePolicy")
        validate_for_start(action.search_attributes, namespace)
    return out


def initial_list_info(schedule: Schedule, now: datetime) -> Payload:
    """The memo's list info before the scheduler writes its own (Temporal writes it on create
    too, so that a schedule lists with its action at once)."""
    info = ScheduleListInfo(
        spec=schedule.spec,
        workflow_type=schedule.action.start_workflow.workflow_type,
        notes=schedule.state.notes,
        paused=schedule.state.paused,
    )
    compiled = CompiledSpec(schedule.spec)
    t = now
    for _ in range(FUTURE_ACTIONS_FOR_LIST):
        nxt = compiled.next_time(t)
        if nxt is None:
            break
        info.future_action_times.add().FromDatetime(nxt.actual)
        t = nxt.nominal
    [payload] = default_converter().payload_converter.to_payloads([info.SerializeToString()])
    return payload


def encode(value: Any) -> Payloads:
    """A value (a proto, a dataclass) as the payloads the SDK's default converter reads."""
    return Payloads(payloads=default_converter().payload_converter.to_payloads([value]))


def decode(payloads: Payloads, cls: type[M]) -> M:
    """A query result of type ``cls``.

    Raises:
        ServiceError: INTERNAL when the scheduler answered something unreadable.
    """
    try:
        [value] = default_converter().payload_converter.from_payloads(
            list(payloads.payloads), [cls]
        )
    except Exception as err:
        raise internal(f"unreadable schedule answer: {err}") from None
    return value


async def describe_workflow(
    env: Env, call: Call, namespace: str, schedule_id: str
) -> DescribeWorkflowExecutionResponse:
    """The running scheduler workflow; NOT_FOUND when the schedule does not exist."""
    # Imported here: frontend.rpc imports the schedule RPCs, which import this module.
    from frontend.rpc import describe_workflow_execution

    response = await describe_workflow_execution.handle(
        env,
        DescribeWorkflowExecutionRequest(
            namespace=namespace, execution=WorkflowExecution(workflow_id=workflow_id(schedule_id))
        ),
        Call("DescribeWorkflowExecution", call.deadline),
    )
    status = response.workflow_execution_info.status
    if status != WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING:
        raise not_found("schedule not found")
    return response


async def query(
    env: Env, call: Call, namespace: str, schedule_id: str, query_type: str, arg: Any, cls: type[M]
) -> M:
    """Asks the scheduler workflow a query."""
    from frontend.rpc import query_workflow

    request = QueryWorkflowRequest(
        namespace=namespace,
        execution=WorkflowExecution(workflow_id=workflow_id(schedule_id)),
        query=WorkflowQuery(query_type=query_type),
    )
    if arg is not None:
        request.query.query_args.CopyFrom(encode(arg))
    response = await query_workflow.handle(env, request, Call("QueryWorkflow", call.deadline))
    if response.HasField("query_rejected"):
        raise not_found("schedule not found")
    return decode(response.query_result, cls)


async def signal(
    env: Env,
    call: Call,
    namespace: str,
    schedule_id: str,
    name: str,
    value: Any,
    identity: str,
    request_id: str,
) -> None:
    """Sends the scheduler workflow a signal."""
    from frontend.rpc import signal_workflow_execution

    request = SignalWorkflowExecutionRequest(
        namespace=namespace,
        workflow_execution=WorkflowExecution(workflow_id=workflow_id(schedule_id)),
        signal_name=name,
        identity=identity,
        request_id=request_id or str(uuid.uuid4()),
    )
    if value is not None:
        request.input.CopyFrom(encode(value))
    try:
        await signal_workflow_execution.handle(
            env, request, Call("SignalWorkflowExecution", call.deadline)
        )
    except ServiceError as err:
        if err.code.name == "NOT_FOUND":
            raise not_found("schedule not found") from None
        raise


def clean_search_attributes(attributes: SearchAttributes) -> SearchAttributes | None:
    """The user's search attributes of a scheduler workflow (Temporal's clean-up)."""
    out = SearchAttributes()
    out.CopyFrom(attributes)
    for name in HIDDEN_ATTRIBUTES:
        out.indexed_fields.pop(name, None)
    return out if out.indexed_fields else None


def clean_memo(memo: Memo) -> Memo | None:
    """The user's memo of a scheduler workflow, without the list info."""
    out = Memo()
    out.CopyFrom(memo)
    out.fields.pop(names.MEMO_INFO, None)
    return out if out.fields else None
