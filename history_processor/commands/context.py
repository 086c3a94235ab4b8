"""What a workflow-command handler works with: the decision, the task's completion, failures."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from google.protobuf.message import Message
from temporalio.api.command.v1 import Command as WorkflowCommand
from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause

from history_processor import events as ev
from history_processor.builder import DecisionBuilder
from history_processor.eager_activities import EagerDispatch
from schemas.visibility.attributes import ValueType


class CommandFailure(Exception):
    """A command the workflow task must fail for (Temporal's failWorkflowTask).

    Attributes:
        cause: The WorkflowTaskFailedCause.
        detail: The InvalidArgument message, or "" (the message is then the cause alone).
        terminate_workflow: Whether the run is terminated after the failed task (Temporal's
            terminateWorkflow, for commands over a size limit).
    """

    def __init__(
        self,
        cause: WorkflowTaskFailedCause.ValueType,
        detail: str = "",
        *,
        terminate_workflow: bool = False,
    ) -> None:
        super().__init__(detail)
        self.cause = cause
        self.detail = detail
        self.terminate_workflow = terminate_workflow


@dataclass
class CommandContext:
    """The completion a command belongs to.

    Attributes:
        b: The decision being built (the WorkflowTaskCompleted event is in it already).
        completed_id: Event id of that WorkflowTaskCompleted.
        had_buffered: Whether events were buffered while the task ran (the workflow has not
            seen them, so it may not close).
        eager: Eager activity dispatch of this completion, if the worker asked for it.
        search_attributes: The namespace's custom search attributes and their types.
        new_workflow_task: Set by a command whose outcome the workflow must see at once (an
            activity canceled before it started): the completion schedules a workflow task.
        protocol: The completion's update messages (`wf_updates.protocol.ProtocolContext`),
            which ProtocolMessage commands take.
    """

    b: DecisionBuilder
    completed_id: int
    had_buffered: bool
    eager: EagerDispatch | None = None
    search_attributes: Mapping[str, ValueType] = field(default_factory=dict)
    new_workflow_task: bool = False
    protocol: Any = None


CommandHandler = Callable[[CommandContext, WorkflowCommand], None]
"""Turns one command into events, outbox records and state updates, or raises CommandFailure."""


def close_run(
    ctx: CommandContext,
    command: WorkflowCommand,
    event_type: EventType.ValueType,
    attrs: Message,
) -> None:
    """Writes a close event for a workflow-closing command (the last command, validated).

    Raises:
        CommandFailure: UNHANDLED_COMMAND when new events arrived while the task ran: the
            workflow must see them before it may close.
    """
    if ctx.had_buffered:
        raise CommandFailure(WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND)
    if not ctx.b.run.is_running:
        return
    event = ev.new_event(event_type, ctx.b.now_ms, attrs)
    if command.HasField("user_metadata"):
        event.user_metadata.CopyFrom(command.user_metadata)
    ctx.b.append(event)
