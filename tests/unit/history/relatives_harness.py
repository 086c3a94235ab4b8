"""Several workflows' Glues and the delivery of the messages their decisions send each other."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from temporalio.api.command.v1 import (
    Command,
    RequestCancelExternalWorkflowExecutionCommandAttributes,
    SignalExternalWorkflowExecutionCommandAttributes,
    StartChildWorkflowExecutionCommandAttributes,
)
from temporalio.api.common.v1 import WorkflowExecution, WorkflowType
from temporalio.api.enums.v1 import CommandType
from temporalio.api.workflowservice.v1 import PollWorkflowTaskQueueResponse

from history_processor.model import Decision
from schemas.inbox import parse_payload
from tests.unit.history.harness import Glue, ok_payload


@dataclass
class Cluster:
    """Glues by workflow id; `deliver` hands a decision's inbox commands to their targets.

    Messages wait in `inflight` until delivered, so a test chooses their order and can
    deliver one twice (a duplicate) or drop it.
    """

    glues: dict[str, Glue] = field(default_factory=dict)
    inflight: list[dict[str, Any]] = field(default_factory=list)
    _runs: Any = field(default_factory=lambda: itertools.count(1))

    def glue(self, workflow_id: str) -> Glue:
        """The Glue of `workflow_id` (run ids distinct across glues)."""
        if workflow_id not in self.glues:
            base = next(self._runs) * 1000
            self.glues[workflow_id] = Glue(workflow_id=workflow_id, _ids=itertools.count(base + 1))
        return self.glues[workflow_id]

    def sent(self, decision: Decision) -> Decision:
        """Queues the messages of `decision`; returns it."""
        self.inflight.extend(decision.commands)
        return decision

    def deliver(self, kind: str | None = None) -> Decision:
        """Delivers the oldest queued message (of `kind` if given); returns the receiver's
        decision, whose own messages are queued in turn."""
        for index, record in enumerate(self.inflight):
            if kind is None or record["kind"] == kind:
                del self.inflight[index]
                return self.redeliver(record)
        raise AssertionError(f"no {kind or 'message'} in flight: {self.kinds()}")

    def redeliver(self, record: dict[str, Any]) -> Decision:
        """Hands `record` to its workflow (again)."""
        glue = self.glue(record["workflow_id"])
        payload = parse_payload(record["kind"], record["payload"])
        return self.sent(glue.submit(record["kind"], payload))

    def kinds(self) -> list[str]:
        """Kinds of the queued messages, oldest first."""
        return [r["kind"] for r in self.inflight]

    def task(self, workflow_id: str) -> PollWorkflowTaskQueueResponse:
        """Polls `workflow_id`'s pending workflow task."""
        glue = self.glue(workflow_id)
        return ok_payload(glue.poll_workflow_task(), PollWorkflowTaskQueueResponse)

    def complete(self, workflow_id: str, *commands: Command) -> Decision:
        """Starts and completes `workflow_id`'s pending workflow task with `commands`."""
        glue = self.glue(workflow_id)
        return self.sent(glue.complete_workflow_task(self.task(workflow_id), *commands))


def start_child(workflow_id: str, workflow_type: str = "ChildGreeter", **kw: Any) -> Command:
    """A StartChildWorkflowExecution command."""
    return Command(
        command_type=CommandType.COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION,
        start_child_workflow_execution_command_attributes=(
            StartChildWorkflowExecutionCommandAttributes(
                workflow_id=workflow_id, workflow_type=WorkflowType(name=workflow_type), **kw
            )
        ),
    )


def signal_external(workflow_id: str, run_id: str = "", **kw: Any) -> Command:
    """A SignalExternalWorkflowExecution command of the signal "release"."""
    return Command(
        command_type=CommandType.COMMAND_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION,
        signal_external_workflow_execution_command_attributes=(
            SignalExternalWorkflowExecutionCommandAttributes(
                execution=WorkflowExecution(workflow_id=workflow_id, run_id=run_id),
                signal_name="release",
                **kw,
            )
        ),
    )


def cancel_external(workflow_id: str, run_id: str = "", **kw: Any) -> Command:
    """A RequestCancelExternalWorkflowExecution command."""
    return Command(
        command_type=CommandType.COMMAND_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION,
        request_cancel_external_workflow_execution_command_attributes=(
            RequestCancelExternalWorkflowExecutionCommandAttributes(
                workflow_id=workflow_id, run_id=run_id, **kw
            )
        ),
    )
