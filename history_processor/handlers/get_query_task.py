"""GetQueryTask (from matching): the poll response of a query task a poller just took.

What Temporal's matching builds from GetMutableState and GetWorkflowExecutionHistory when it
hands out a query task: no started event (``started_event_id`` 0, attempt 1), the previous
started event id of the last completed workflow task, and the history. A poller of the run's
sticky queue has the run cached and gets no events; any other poller gets the history from
event 1 (one page; the rest through GetWorkflowExecutionHistory). Matching adds the query
task's token and the query. A read: no event, no state change.
"""

from __future__ import annotations

from temporalio.api.common.v1 import WorkflowExecution, WorkflowType
from temporalio.api.errordetails.v1 import NotFoundFailure
from temporalio.api.history.v1 import History
from temporalio.api.workflowservice.v1 import PollWorkflowTaskQueueResponse

from history_processor import events as ev
from history_processor.handling import MSG_WORKFLOW_COMPLETED, Env, reply_only, workflow_not_found
from history_processor.model import Command, Decision
from history_processor.reads import page_of
from history_processor.state import ExecutionState
from history_processor.workflow_tasks import HISTORY_PAGE_SIZE
from schemas.inbox import GetQueryTask
from schemas.reply import Code, Reply


def handle(state: ExecutionState | None, command: Command, env: Env) -> Decision:
    """Answers with the query task's poll response (without token and query)."""
    msg: GetQueryTask = command.payload
    if state is None:
        return reply_only(_not_found(workflow_not_found(command.workflow_id).message))
    if msg.run_id and msg.run_id != state.run_id:
        return reply_only(_not_found(MSG_WORKFLOW_COMPLETED))
    return reply_only(Reply.of(query_task_response(state, msg.task_queue, env)))


def query_task_response(
    state: ExecutionState, task_queue: str, env: Env, page_size: int = HISTORY_PAGE_SIZE
) -> PollWorkflowTaskQueueResponse:
    """The poll response of a query task for a poller of `task_queue`."""
    response = PollWorkflowTaskQueueResponse(
        workflow_execution=WorkflowExecution(workflow_id=state.workflow_id, run_id=state.run_id),
        workflow_type=WorkflowType(name=state.workflow_type),
        previous_started_event_id=state.last_completed_wft_started_event_id,
        attempt=1,
        history=History(),
        workflow_execution_task_queue=ev.task_queue(state.task_queue),
    )
    if state.sticky_task_queue and task_queue == state.sticky_task_queue:
        return response
    # One event past the page tells page_of where the next page starts.
    events = list(env.read_events(1, min(state.next_event_id, page_size + 2)))
    page, token = page_of(state, events, page_size, include_transient=False)
    response.history.events.extend(page)
    response.next_page_token = token
    return response


def _not_found(message: str) -> Reply:
    """NOT_FOUND with Temporal's NotFoundFailure detail."""
    return Reply.error(Code.NOT_FOUND, message, NotFoundFailure())
