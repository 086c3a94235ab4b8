"""Workflow commands of a completed workflow task -> history, one handler per command type.

Like Temporal's workflowTaskCompletedHandler.handleCommand: `COMMAND_HANDLERS` maps each
CommandType to the function that turns it into events; a type without a row answers
UNIMPLEMENTED. Adding a command is one module with a `handle` and one row here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from temporalio.api.command.v1 import Command as WorkflowCommand
from temporalio.api.enums.v1 import CommandType

from history_processor.builder import DecisionBuilder
from history_processor.commands import (
    cancel_timer,
    cancel_workflow_execution,
    complete_workflow_execution,
    continue_as_new_workflow_execution,
    fail_workflow_execution,
    modify_workflow_properties,
    protocol_message,
    record_marker,
    request_cancel_activity_task,
    request_cancel_external_workflow_execution,
    schedule_activity_task,
    signal_external_workflow_execution,
    start_child_workflow_execution,
    start_timer,
    upsert_workflow_search_attributes,
)
from history_processor.commands.context import CommandContext, CommandFailure, CommandHandler
from history_processor.eager_activities import EagerDispatch
from schemas.visibility.attributes import ValueType

__all__ = ["COMMAND_HANDLERS", "CommandFailure", "apply_commands", "sequence_error", "unsupported"]

COMMAND_HANDLERS: dict[CommandType.ValueType, CommandHandler] = {
    CommandType.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK: schedule_activity_task.handle,
    CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION: complete_workflow_execution.handle,
    CommandType.COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION: fail_workflow_execution.handle,
    CommandType.COMMAND_TYPE_RECORD_MARKER: record_marker.handle,
    CommandType.COMMAND_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES: (
        upsert_workflow_search_attributes.handle
    ),
    CommandType.COMMAND_TYPE_MODIFY_WORKFLOW_PROPERTIES: modify_workflow_properties.handle,
    CommandType.COMMAND_TYPE_START_TIMER: start_timer.handle,
    CommandType.COMMAND_TYPE_CANCEL_TIMER: cancel_timer.handle,
    CommandType.COMMAND_TYPE_REQUEST_CANCEL_ACTIVITY_TASK: request_cancel_activity_task.handle,
    CommandType.COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION: cancel_workflow_execution.handle,
    CommandType.COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION: (
        continue_as_new_workflow_execution.handle
    ),
    CommandType.COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION: start_child_workflow_execution.handle,
    CommandType.COMMAND_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION: (
        signal_external_workflow_execution.handle
    ),
    CommandType.COMMAND_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION: (
        request_cancel_external_workflow_execution.handle
    ),
    CommandType.COMMAND_TYPE_PROTOCOL_MESSAGE: protocol_message.handle,
}

_CLOSE_COMMANDS = (
    CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION,
    CommandType.COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION,
    CommandType.COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION,
    CommandType.COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION,
)


def sequence_error(commands: list[WorkflowCommand]) -> str | None:
    """Temporal's ValidateCommandSequence: a close command must be the last one."""
    for command in commands[:-1]:
        if command.command_type in _CLOSE_COMMANDS:
            names = [CommandType.Name(c.command_type) for c in commands]
            return (
                f"invalid command sequence: [{', '.join(names)}], command "
                f"{CommandType.Name(command.command_type)} must be the last command."
            )
    return None


def unsupported(commands: list[WorkflowCommand]) -> WorkflowCommand | None:
    """The first command Strom cannot execute yet, if any."""
    return next((c for c in commands if c.command_type not in COMMAND_HANDLERS), None)


def apply_commands(
    b: DecisionBuilder,
    commands: list[WorkflowCommand],
    completed_id: int,
    had_buffered: bool,
    eager: EagerDispatch | None = None,
    search_attributes: Mapping[str, ValueType] | None = None,
    protocol: Any = None,
) -> bool:
    """Turns the commands into events (and outbox records) in order.

    Activities that `eager` takes get no task record; the caller starts them with
    `eager.start` once all commands are handled.

    Returns:
        Whether a command needs a new workflow task even without new events from outside
        (`CommandContext.new_workflow_task`).

    Raises:
        CommandFailure: the workflow task must fail instead.
        KeyError: a command without a handler (check with `unsupported` first).
    """
    ctx = CommandContext(b, completed_id, had_buffered, eager, search_attributes or {})
    ctx.protocol = protocol
    for command in commands:
        COMMAND_HANDLERS[command.command_type](ctx, command)
    return ctx.new_workflow_task
