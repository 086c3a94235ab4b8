"""ProtocolMessage: handle the completion's message it names at this place among the commands."""

from __future__ import annotations

from temporalio.api.command.v1 import Command as WorkflowCommand

from history_processor.commands.context import CommandContext, CommandFailure
from history_processor.wf_updates import protocol


def handle(ctx: CommandContext, command: WorkflowCommand) -> None:
    """Applies the referenced update message (Acceptance, Rejection or Response).

    Raises:
        CommandFailure: BAD_UPDATE_WORKFLOW_EXECUTION_MESSAGE for a message id the completion
            does not carry, or a message the update protocol refuses.
    """
    message_id = command.protocol_message_command_attributes.message_id
    msg = ctx.protocol.take(message_id) if ctx.protocol is not None else None
    if msg is None:
        raise CommandFailure(
            protocol.BAD_MESSAGE,
            f"ProtocolMessageCommand referenced absent message ID {message_id}",
        )
    assert ctx.protocol is not None
    protocol.handle_message(ctx.b, ctx.protocol, msg)
