"""The Python record types agree with the Avro schemas they describe."""

from __future__ import annotations

import typing

import pytest

import schemas
from schemas import records

TYPES = {
    schemas.INBOX_COMMAND: records.InboxCommandRecord,
    schemas.EVENT_BATCH: records.EventBatchRecord,
    schemas.TASK_RECORD: records.TaskRecord,
    schemas.VISIBILITY_RECORD: records.VisibilityRecord,
    schemas.REPLY: records.ReplyRecord,
    schemas.NAMESPACE: records.NamespaceRecord,
    schemas.CLUSTER_SETTINGS: records.ClusterSettingsRecord,
    schemas.DEAD_LETTER: records.DeadLetterRecord,
    schemas.REMOTE_CLUSTER: records.RemoteClusterRecord,
}


def test_every_record_has_a_type() -> None:
    assert set(TYPES) == set(schemas.RECORD_NAMES)


@pytest.mark.parametrize("record_name", schemas.RECORD_NAMES)
def test_fields_match_the_current_schema(record_name: str) -> None:
    fields = schemas.REGISTRY.current_of(record_name).field_names
    assert tuple(typing.get_type_hints(TYPES[record_name])) == fields
