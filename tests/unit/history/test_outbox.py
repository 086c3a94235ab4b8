"""Outbox records the decider emits fit Strom's Avro schemas."""

from __future__ import annotations

from temporalio.api.history.v1 import History

import schemas
from tests.unit.history.golden import drive, load


def test_records_fit_the_schemas() -> None:
    glue = drive(load("retry_activity"))
    assert glue.tasks
    for task in glue.tasks:
        assert (
            schemas.decode(schemas.encode(schemas.TASK_RECORD, task), schemas.TASK_RECORD) == task
        )
    visibility = [d.visibility for d in glue.decisions if d.visibility is not None]
    # Start, the first completion (its build id enters BuildIds, as on Temporal), close.
    assert [v["status"] for v in visibility] == ["Running", "Running", "Completed"]
    for record in visibility:
        data = schemas.encode(schemas.VISIBILITY_RECORD, record)
        assert schemas.decode(data, schemas.VISIBILITY_RECORD) == record
    assert visibility[0]["version"] < visibility[1]["version"] < visibility[2]["version"]
    for decision in glue.decisions:
        batch = {
            "namespace": "default",
            "workflow_id": glue.workflow_id,
            "run_id": "run-0001",
            "first_event_id": decision.events[0].event_id if decision.events else 0,
            "last_event_id": decision.events[-1].event_id if decision.events else 0,
            "events": History(events=decision.events).SerializeToString(),
            "updates": [{"kind": k, "payload": p} for k, p in decision.updates],
            "command_id": None,
        }
        data = schemas.encode(schemas.EVENT_BATCH, batch)
        assert schemas.decode(data, schemas.EVENT_BATCH) == batch
