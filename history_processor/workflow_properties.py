"""A run's memo and search attributes: how upserts merge in, and the BuildIds attribute.

Pure functions over the state, used by the fold (they must give the same state live and on
restore) and by the command handlers that check limits against the merged result.
"""

from __future__ import annotations

import json

from temporalio.api.common.v1 import Memo, Payload, SearchAttributes, WorkerVersionStamp
from temporalio.api.history.v1 import HistoryEvent

from history_processor.state import ExecutionState
from schemas.visibility import attributes as sa
from schemas.visibility import validator
from schemas.visibility.attributes import ValueType

MAX_RESET_POINTS = 20
"""Temporal's limit.maxAutoResetPoints: BinaryChecksums keeps the checksums of this many."""
UNVERSIONED = "unversioned"
"""Temporal's sentinel in BuildIds for runs of workers without versioning."""
_ASSIGNED_PREFIX = "assigned:"
_PINNED_PREFIX = "pinned"


def search_attributes_of(state: ExecutionState) -> SearchAttributes:
    """The run's current search attributes."""
    return SearchAttributes.FromString(state.search_attributes)


def memo_of(state: ExecutionState) -> Memo:
    """The run's current memo."""
    return Memo.FromString(state.memo)


def merged_memo(state: ExecutionState, upserted: Memo) -> Memo:
    """The memo after an upsert: null, ``[]`` or empty values remove their key, as Temporal's
    MergeMapOfPayload does."""
    out = memo_of(state)
    for key, payload in upserted.fields.items():
        if validator.is_nil(payload):
            if key in out.fields:
                del out.fields[key]
        else:
            out.fields[key].CopyFrom(payload)
    return out


def merged_search_attributes(state: ExecutionState, upserted: SearchAttributes) -> SearchAttributes:
    """The search attributes after an upsert (nil values remove their key)."""
    return validator.merge(search_attributes_of(state), upserted)


def apply_upsert(state: ExecutionState, event: HistoryEvent) -> None:
    """Folds UpsertWorkflowSearchAttributes."""
    upserted = event.upsert_workflow_search_attributes_event_attributes.search_attributes
    merged = merged_search_attributes(state, upserted)
    state.search_attributes = merged.SerializeToString(deterministic=True)


def apply_properties_modified(state: ExecutionState, event: HistoryEvent) -> None:
    """Folds WorkflowPropertiesModified (the memo upsert)."""
    upserted = event.workflow_properties_modified_event_attributes.upserted_memo
    state.memo = merged_memo(state, upserted).SerializeToString(deterministic=True)


def track_worker(state: ExecutionState, event: HistoryEvent) -> None:
    """Records who completed a workflow task in BuildIds and BinaryChecksums, as Temporal does
    at every WorkflowTaskCompleted (updateBuildIdsAndDeploymentSearchAttributes and
    updateBinaryChecksumSearchAttribute).

    Unversioned runs keep ``unversioned`` first in BuildIds, then every
    ``unversioned:<build id>`` that completed a task; the list is cut from its oldest entries
    to fit the 2 KiB value limit. Workers that send a binary checksum instead of a version
    stamp (SDKs do so when the server does not advertise build-id versioning) add it to
    BinaryChecksums, the last 20 distinct ones (Temporal's reset points). Strom has no worker
    deployments, so the deployment attributes stay unset.
    """
    attrs = event.workflow_task_completed_event_attributes
    stamp = attrs.worker_version if attrs.HasField("worker_version") else None
    current = search_attributes_of(state)
    changed = False
    existing = _keyword_list(current.indexed_fields.get(sa.BUILD_IDS))
    updated = _with_build_id(existing, stamp)
    if updated != existing:
        current.indexed_fields[sa.BUILD_IDS].CopyFrom(_fitted_build_ids(updated))
        changed = True
    checksum = attrs.binary_checksum
    checksums = _keyword_list(current.indexed_fields.get(sa.BINARY_CHECKSUMS))
    if checksum and checksum not in checksums:
        recent = [*checksums, checksum][-MAX_RESET_POINTS:]
        current.indexed_fields[sa.BINARY_CHECKSUMS].CopyFrom(keyword_list_payload(recent))
        changed = True
    if changed:
        state.search_attributes = current.SerializeToString(deterministic=True)


def _with_build_id(existing: list[str], stamp: WorkerVersionStamp | None) -> list[str]:
    """Temporal's addBuildIdToLoadedSearchAttribute for a run without versioning behavior."""
    values = [] if stamp is not None and stamp.use_versioning else [UNVERSIONED]
    build_id = ""
    if stamp is not None:
        if not stamp.build_id:
            build_id = UNVERSIONED
        elif stamp.use_versioning:
            build_id = f"versioned:{stamp.build_id}"
        else:
            build_id = f"{UNVERSIONED}:{stamp.build_id}"
    found = False
    for value in existing:
        found = found or value == build_id
        sentinel = value == UNVERSIONED or value.startswith(_ASSIGNED_PREFIX)
        if not sentinel and not value.startswith(_PINNED_PREFIX):
            values.append(value)
    if not found and build_id:
        values.append(build_id)
    return values


def _fitted_build_ids(build_ids: list[str]) -> Payload:
    """The KeywordList payload, dropping the oldest entries (never the sentinel) to fit."""
    keep_first = bool(build_ids) and build_ids[0] == UNVERSIONED
    while True:
        payload = keyword_list_payload(build_ids)
        if not build_ids or len(payload.data) <= validator.SIZE_OF_VALUE_LIMIT:
            return payload
        if len(build_ids) == 1:
            build_ids = []
        elif keep_first:
            build_ids = build_ids[:1] + build_ids[2:]
        else:
            build_ids = build_ids[1:]


def keyword_list_payload(values: list[str]) -> Payload:
    """A KeywordList value encoded as Temporal's server encodes it (Go's encoding/json)."""
    text = json.dumps(values, ensure_ascii=False, separators=(",", ":"))
    # Go escapes these for safe embedding in HTML; byte-equal payloads need the same.
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(char, escaped)
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return Payload(
        metadata={
            validator.METADATA_ENCODING: b"json/plain",
            validator.METADATA_TYPE: ValueType.KEYWORD_LIST.value.encode(),
        },
        data=text.encode(),
    )


def _keyword_list(payload: Payload | None) -> list[str]:
    if payload is None:
        return []
    try:
        value = json.loads(payload.data)
    except ValueError:
        return []
    if not isinstance(value, list):
        return []
    return [v for v in value if isinstance(v, str)]
