"""History settings: the continue-as-new suggestion thresholds, from the command line."""

from __future__ import annotations

import pytest
from temporalio.api.enums.v1 import SuggestContinueAsNewReason
from temporalio.api.history.v1 import WorkflowTaskStartedEventAttributes
from temporalio.api.workflowservice.v1 import SignalWorkflowExecutionRequest

from history_processor import settings
from history_processor.__main__ import build_parser
from tests.unit.history.harness import NAMESPACE, Glue, first_task

_TOO_MANY = SuggestContinueAsNewReason.SUGGEST_CONTINUE_AS_NEW_REASON_TOO_MANY_HISTORY_EVENTS
_TOO_LARGE = SuggestContinueAsNewReason.SUGGEST_CONTINUE_AS_NEW_REASON_HISTORY_SIZE_TOO_LARGE


def _started_after_signals(signals: int, size: int = 0) -> WorkflowTaskStartedEventAttributes:
    """Runs a first task, then `signals` signals, and returns the next task's started event."""
    glue = Glue()
    task = first_task(glue)
    first = glue.events[-1].workflow_task_started_event_attributes
    assert not first.suggest_continue_as_new
    glue.complete_workflow_task(task)
    for number in range(signals):
        signal = SignalWorkflowExecutionRequest(
            namespace=NAMESPACE, signal_name="s", request_id=f"sig-{number}"
        )
        signal.workflow_execution.workflow_id = glue.workflow_id
        if size:
            signal.input.payloads.add(data=b"x" * size)
        glue.submit("SignalWorkflowExecution", signal)
    glue.poll_workflow_task("poll-2")
    started = [e for e in glue.events if e.HasField("workflow_task_started_event_attributes")]
    return started[-1].workflow_task_started_event_attributes


def test_a_lower_event_count_threshold_suggests_continue_as_new_sooner() -> None:
    assert not _started_after_signals(8).suggest_continue_as_new  # 4096 by default
    with settings.overridden(suggest_continue_as_new_count=10):
        attrs = _started_after_signals(8)
    assert attrs.suggest_continue_as_new
    assert list(attrs.suggest_continue_as_new_reasons) == [_TOO_MANY]
    assert settings.current() == settings.HistorySettings(), "the override is undone"


def test_a_lower_size_threshold_suggests_continue_as_new_for_its_reason() -> None:
    assert not _started_after_signals(2, size=1000).suggest_continue_as_new
    with settings.overridden(suggest_continue_as_new_size=1500):
        attrs = _started_after_signals(2, size=1000)
    assert attrs.suggest_continue_as_new
    assert list(attrs.suggest_continue_as_new_reasons) == [_TOO_LARGE]


def test_the_command_line_sets_the_thresholds() -> None:
    args = build_parser().parse_args(
        ["--bootstrap", "b", "--state-dir", "s", "--suggest-continue-as-new-count", "50"]
    )
    assert args.suggest_continue_as_new_count == 50
    assert args.suggest_continue_as_new_size == 4 * 1024 * 1024


@pytest.mark.parametrize("value", ["0", "-3", "ten", "1.5"])
def test_a_bad_threshold_is_a_usage_error(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        build_parser().parse_args(
            ["--bootstrap", "b", "--state-dir", "s", "--suggest-continue-as-new-size", value]
        )
    assert raised.value.code == 2
    assert f"must be a positive integer, got {value!r}" in capsys.readouterr().err


def test_settings_refuse_a_threshold_below_one() -> None:
    with pytest.raises(ValueError, match="suggest_continue_as_new_count must be a positive"):
        settings.HistorySettings(suggest_continue_as_new_count=0)
