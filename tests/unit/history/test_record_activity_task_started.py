"""RecordActivityTaskStarted: history records an attempt's start before matching hands it out."""

from __future__ import annotations

import dataclasses

from history_processor.updates import UpdateKind
from schemas.inbox import ActivityTaskStarted
from schemas.reply import Code
from tests.unit.history.harness import Glue, app_failure, with_activity

KIND = "RecordActivityTaskStarted"


def _message(glue: Glue, request_id: str, attempt: int | None = None) -> ActivityTaskStarted:
    task = glue.last_task("activity", 5)
    message = ActivityTaskStarted.for_task(task, "worker-9", request_id, glue.now_ms)
    return message if attempt is None else dataclasses.replace(message, attempt=attempt)


def test_first_dispatch_is_recorded_and_its_retry_is_answered_ok_again() -> None:
    glue = Glue()
    with_activity(glue)
    first = glue.submit(KIND, _message(glue, "dispatch-1"))
    assert first.reply is not None and first.reply.ok
    assert [kind for kind, _ in first.updates] == [UpdateKind.ACTIVITY_STARTED.value]
    assert first.events == []  # the started event is written when the attempt ends
    info = glue.state.activities[5]
    assert info.is_started and info.request_id == "dispatch-1"
    assert info.started_identity == "worker-9"
    again = glue.submit(KIND, _message(glue, "dispatch-1"))
    assert again.reply is not None and again.reply.ok and again.updates == []


def test_a_second_dispatch_of_a_started_attempt_is_refused() -> None:
    glue = Glue()
    with_activity(glue)
    glue.submit(KIND, _message(glue, "dispatch-1"))
    redelivered = glue.submit(KIND, _message(glue, "dispatch-2"))
    assert redelivered.reply is not None
    assert redelivered.reply.status_code == Code.ALREADY_EXISTS
    assert redelivered.updates == [] and redelivered.events == []


def test_a_completed_or_retried_attempt_is_not_found() -> None:
    glue = Glue()
    with_activity(glue, retry_policy={"initial_interval": {"seconds": 1}})
    stale = _message(glue, "dispatch-1")
    glue.submit(KIND, stale)
    glue.fail_activity(5, app_failure("boom"))  # attempt 2 is now awaiting its backoff
    waiting = glue.submit(KIND, dataclasses.replace(stale, attempt=2, request_id="d-2"))
    assert waiting.reply is not None and waiting.reply.status_code == Code.NOT_FOUND
    old = glue.submit(KIND, dataclasses.replace(stale, request_id="dispatch-3"))
    assert old.reply is not None and old.reply.status_code == Code.NOT_FOUND
    glue.fire("activity_retry")
    glue.submit(KIND, _message(glue, "dispatch-4"))
    glue.complete_activity(5)
    done = glue.submit(KIND, _message(glue, "dispatch-5"))
    assert done.reply is not None and done.reply.status_code == Code.NOT_FOUND
    assert done.updates == [] and done.events == []


def test_unknown_workflow_and_other_run_are_not_found() -> None:
    glue = Glue()
    with_activity(glue)
    other_run = dataclasses.replace(_message(glue, "d"), run_id="another-run")
    reply = glue.submit(KIND, other_run).reply
    assert reply is not None and reply.status_code == Code.NOT_FOUND
    empty = Glue()
    missing = empty.submit(KIND, other_run).reply
    assert missing is not None and missing.status_code == Code.NOT_FOUND
