"""A standby's history folds the active cluster's batches, deciding nothing, with version rules."""

from __future__ import annotations

from typing import Any

from temporalio.api.errordetails.v1 import NamespaceNotActiveFailure
from temporalio.api.history.v1 import History, HistoryEvent

import schemas
from history_processor import failover, standby
from history_processor.handlers import replicate_events
from history_processor.model import Decision
from schemas.inbox import REPLICATE_EVENTS, ReplicateEvents
from schemas.namespaces import Namespace, active_elsewhere, failover_version
from schemas.outbox import Destination
from schemas.records import RUN_DELETED
from schemas.reply import Code
from tests.unit.history.harness import (
    Glue,
    complete_workflow,
    first_task,
    payloads,
    types,
    with_activity,
)


def finished_run() -> Glue:
    """The active cluster: a run with one activity, completed."""
    active = Glue()
    active.start()
    scheduled = with_activity(active)
    active.start_activity(scheduled)
    active.complete_activity(scheduled, payloads(b'"done"'))
    active.complete_workflow_task(first_task(active), complete_workflow(payloads(b'"ok"')))
    return active


def message(
    glue: Glue, index: int, version: int = 1, events: list[HistoryEvent] | None = None
) -> ReplicateEvents:
    """The ReplicateEvents of the active run's batch number ``index`` (0-based)."""
    batch_events, updates = glue.batches[index]
    chosen = batch_events if events is None else events
    assert glue.state is not None
    record: dict[str, Any] = {
        "namespace": glue.state.namespace,
        "workflow_id": glue.state.workflow_id,
        "run_id": glue.state.run_id,
        "first_event_id": chosen[0].event_id if chosen else 0,
        "last_event_id": chosen[-1].event_id if chosen else 0,
        "events": History(events=chosen).SerializeToString(),
        "updates": [{"kind": k, "payload": p} for k, p in updates],
        "command_id": f"cmd-{index}",
    }
    batch = schemas.encode(schemas.EVENT_BATCH, record)
    return ReplicateEvents("active", batch, index + 1, version)


def replicate(standby_glue: Glue, msg: ReplicateEvents) -> Decision:
    return standby_glue.submit(REPLICATE_EVENTS, ReplicateEvents.from_bytes(msg.to_bytes()))


def stamped(events: list[HistoryEvent], version: int) -> list[HistoryEvent]:
    copies = []
    for event in events:
        copy = HistoryEvent()
        copy.CopyFrom(event)
        copy.version = version
        copies.append(copy)
    return copies


def test_standby_folds_every_batch_to_the_same_history_and_state_without_tasks() -> None:
    active = finished_run()
    replica = Glue()
    assert len(active.batches) >= 5  # start, tasks, activity, completion

    for index in range(len(active.batches)):
        decision = replicate(replica, message(active, index))
        assert decision.reply is not None and decision.reply.ok, decision.reply
        assert not decision.tasks and not decision.commands  # nothing is dispatched
        assert [o.destination for o in decision.outbox] == [Destination.VISIBILITY]

    assert types(replica.events) == types(active.events)
    assert replica.history() == active.history()
    assert replica.state is not None and active.state is not None
    assert replica.state.to_bytes() == active.state.to_bytes()
    visibility = replica.decisions[-1].visibility
    assert visibility is not None and visibility["status"] == active.state.status.value


def test_a_batch_sent_again_is_ignored() -> None:
    active = finished_run()
    replica = Glue()
    replicate(replica, message(active, 0))
    replicate(replica, message(active, 1))

    again = replicate(replica, message(active, 1))

    assert again.reply is not None and again.reply.ok
    assert not again.events and not again.outbox
    assert replica.state is not None and replica.state.state_transition_count == 2


def test_a_gap_and_a_batch_before_the_start_are_refused() -> None:
    active = finished_run()
    replica = Glue()

    early = replicate(replica, message(active, 1))
    replicate(replica, message(active, 0))
    gap = replicate(replica, message(active, 2))

    for refused in (early, gap):
        assert refused.reply is not None and refused.reply.status_code == Code.FAILED_PRECONDITION
        assert not refused.events
    assert "arrived before the run's start" in early.reply.message  # type: ignore[union-attr]
    assert "does not follow batch 1" in gap.reply.message  # type: ignore[union-attr]


def test_a_batch_of_an_older_failover_version_is_refused() -> None:
    active = finished_run()
    replica = Glue()
    first = stamped(active.batches[0][0], 12)
    replicate(replica, message(active, 0, version=12, events=first))

    stale = replicate(
        replica, message(active, 1, version=2, events=stamped(active.batches[1][0], 2))
    )
    newer = replicate(
        replica, message(active, 1, version=12, events=stamped(active.batches[1][0], 12))
    )

    assert stale.reply is not None and stale.reply.status_code == Code.FAILED_PRECONDITION
    assert "failover version 2 is older than the local state's 12" in stale.reply.message
    assert newer.reply is not None and newer.reply.ok and newer.events
    assert {e.version for e in replica.events} == {12}


def test_refusal_rules_are_pure() -> None:
    active = finished_run()
    batch = replicate_events.decode(message(active, 0))

    assert replicate_events.refusal(None, batch, 1, 1, 0) is None
    assert replicate_events.refusal(None, batch, 1, 1, 5) is not None
    assert replicate_events.refusal(active.state, batch, 1, 1, 0) == ""  # already folded


def test_standby_refuses_commands_that_decide_and_serves_reads() -> None:
    refused = standby.refusal("StartWorkflowExecution", "orders", "active", "standby")

    assert refused is not None and refused.status_code == Code.FAILED_PRECONDITION
    assert refused.message == (
        "Namespace: orders is active in cluster: active, while current cluster standby is a "
        "standby cluster."
    )
    detail = NamespaceNotActiveFailure.FromString(refused.details)
    assert (detail.active_cluster, detail.current_cluster) == ("active", "standby")
    assert standby.refusal("GetWorkflowExecutionHistory", "orders", "active", "standby") is None
    assert standby.refusal(REPLICATE_EVENTS, "orders", "active", "standby") is None
    assert standby.refusal("StartWorkflowExecution", "orders", "", "active") is None


def test_namespace_replication_roles() -> None:
    replicated = Namespace(
        "orders",
        "id",
        is_global=True,
        active_cluster="active",
        clusters=("active", "standby"),
        failover_version=1,
    )
    local = Namespace("default", "id2")

    assert active_elsewhere(replicated, "standby") == "active"
    assert active_elsewhere(replicated, "active") == ""
    assert active_elsewhere(replicated, "third") == ""  # not one of its clusters
    assert active_elsewhere(local, "standby") == ""
    assert failover_version(replicated, "active") == 1
    assert failover_version(replicated, "standby") == 0
    assert failover_version(local, "active") == 0


def test_a_failover_dispatches_what_was_never_started_and_leaves_the_rest_to_timers() -> None:
    glue = Glue()
    glue.start()
    assert glue.state is not None
    (scheduled,) = failover.pending_tasks(glue.state)
    assert scheduled["task_kind"] == "workflow"
    assert scheduled["scheduled_event_id"] == glue.state.workflow_task.scheduled_event_id  # type: ignore[union-attr]

    activity = with_activity(glue)  # the task completed, sticky; one activity scheduled
    (pending,) = failover.pending_tasks(glue.state)
    assert (pending["task_kind"], pending["scheduled_event_id"]) == ("activity", activity)

    glue.start_activity(activity)  # started on the old cluster: its timeout retries it
    assert failover.pending_tasks(glue.state) == []
    glue.complete_activity(activity, payloads(b'"done"'))  # schedules a sticky workflow task
    assert glue.state.workflow_task is not None
    assert failover.pending_tasks(glue.state) == []  # its schedule-to-start timer moves it


def _marker(glue: Glue, transition: int, run_id: str | None = None) -> ReplicateEvents:
    """The delete marker the active cluster writes after a run's last batch."""
    assert glue.state is not None
    record: dict[str, Any] = {
        "namespace": glue.state.namespace,
        "workflow_id": glue.state.workflow_id,
        "run_id": run_id or glue.state.run_id,
        "first_event_id": 0,
        "last_event_id": 0,
        "events": History().SerializeToString(),
        "updates": [{"kind": RUN_DELETED, "payload": b"{}"}],
        "command_id": "delete",
    }
    return ReplicateEvents("active", schemas.encode(schemas.EVENT_BATCH, record), transition, 1)


def test_a_run_the_active_cluster_deleted_is_deleted_here() -> None:
    active = finished_run()
    replica = Glue()
    for index in range(len(active.batches)):
        replicate(replica, message(active, index))
    assert replica.state is not None

    deleted = replicate(replica, _marker(active, len(active.batches) + 1))

    assert deleted.deleted_run is not None and deleted.deleted_run.run_id == replica.state.run_id
    (document,) = [o.record for o in deleted.outbox if o.destination is Destination.VISIBILITY]
    assert document["deleted"] is True
    assert not deleted.events


def test_the_marker_of_a_run_not_kept_here_changes_nothing() -> None:
    active = finished_run()
    replica = Glue()
    replicate(replica, message(active, 0))

    other = replicate(replica, _marker(active, 9, run_id="run-never-seen"))
    assert other.deleted_run is None and not other.outbox
    assert replicate(Glue(), _marker(active, 9)).deleted_run is None


def test_an_older_runs_start_sent_again_changes_nothing() -> None:
    older = finished_run()
    batch = replicate_events.decode(message(older, 0))
    assert older.state is not None
    current = older.state.copy()
    current.run_id = "run-newer"
    current.start_time_ms += 60_000  # the current run here started after the batch's run

    assert replicate_events.refusal(current, batch, 1, 1, 1) == ""
    current.start_time_ms -= 120_000  # it started before: the batch starts a newer run
    assert replicate_events.refusal(current, batch, 1, 1, 1) is None
