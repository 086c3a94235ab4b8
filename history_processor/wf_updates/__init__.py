"""Workflow updates (Temporal's UpdateWorkflowExecution), not to be confused with state updates.

- `registry`: admitted updates and waiting callers, in the processor's memory only.
- `waiting`: the bookkeeping of a caller's wait around each commit.
- `protocol`: the update messages between history and a worker, and the events they write.
- `speculative`: the workflow task that ships an update to an idle workflow.
- `status`: the stage an update reached, and the replies that say so.
- `events`: the fold of WorkflowExecutionUpdateAccepted / Completed into mutable state.

The RPC handlers are `handlers/update_workflow_execution.py` and
`handlers/poll_workflow_execution_update.py`; the ProtocolMessage command is
`commands/protocol_message.py`.
"""
