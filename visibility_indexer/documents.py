"""Maps a VisibilityRecord to an Elasticsearch bulk action, pure and I/O-free."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from google.protobuf.message import DecodeError
from temporalio.api.common.v1 import Payload, SearchAttributes

from schemas.visibility import attributes as sa
from schemas.visibility.attributes import ValueType
from schemas.visibility.timefmt import NANOS_PER_MILLI, format_millis, format_rfc3339, parse_rfc3339

log = logging.getLogger(__name__)

MAX_ID_BYTES = 512
"""Elasticsearch's limit on a document id."""


@dataclass(frozen=True)
class IndexAction:
    """One bulk action: index ``document`` (or delete, when None) under an external version.

    Elasticsearch applies it only if ``version`` is above the stored one, so replays and
    reordered records never overwrite newer state.
    """

    doc_id: str
    version: int
    document: dict[str, Any] | None

    @property
    def is_delete(self) -> bool:
        """Whether this action deletes the run's document."""
        return self.document is None

    def bulk_lines(self, index: str) -> list[dict[str, Any]]:
        """The action as lines of the bulk API (header, then the document unless a delete)."""
        meta: dict[str, Any] = {"_index": index, "_id": self.doc_id}
        meta.update(version=self.version, version_type="external")
        if self.document is None:
            return [{"delete": meta}]
        return [{"index": meta}, self.document]


def doc_id(workflow_id: str, run_id: str) -> str:
    """The document id of a run, Temporal's ``<workflow id>~<run id>``.

    Ids over Elasticsearch's 512-byte limit (workflow ids may be up to 1000 characters) become a
    hash, still unique per run.
    """
    key = f"{workflow_id}~{run_id}"
    if len(key.encode()) <= MAX_ID_BYTES:
        return key
    return "~sha256~" + hashlib.sha256(key.encode()).hexdigest()


def build_action(record: Mapping[str, Any]) -> IndexAction:
    """Maps a decoded VisibilityRecord to its bulk action.

    Args:
        record: The record as ``schemas.decode`` returns it.

    Returns:
        A delete when the record says ``deleted``, an index action otherwise.
    """
    key = doc_id(record["workflow_id"], record["run_id"])
    if record.get("deleted"):
        return IndexAction(key, record["version"], None)
    return IndexAction(key, record["version"], build_document(record))


def build_document(record: Mapping[str, Any]) -> dict[str, Any]:
    """The Elasticsearch document of a run: Temporal's field names and units.

    Times are RFC 3339 strings in UTC; ``ExecutionDuration`` is in nanoseconds like Temporal's.
    """
    doc: dict[str, Any] = {}
    memo, search_attributes = record.get("memo") or b"", record.get("search_attributes") or b""
    if search_attributes:
        doc.update(_search_attribute_fields(search_attributes))
    doc.update(
        {
            sa.NAMESPACE: record["namespace"],
            sa.NAMESPACE_ID: record["namespace_id"],
            sa.WORKFLOW_ID: record["workflow_id"],
            sa.RUN_ID: record["run_id"],
            sa.WORKFLOW_TYPE: record["workflow_type"],
            sa.TASK_QUEUE: record["task_queue"],
            sa.EXECUTION_STATUS: record["status"],
            sa.START_TIME: format_millis(record["start_time_ms"]),
            sa.EXECUTION_TIME: format_millis(record["execution_time_ms"]),
            sa.HISTORY_LENGTH: record["history_length"],
        }
    )
    close_ms = record.get("close_time_ms")
    if close_ms is not None:
        doc[sa.CLOSE_TIME] = format_millis(close_ms)
        duration_ms = record.get("execution_duration_ms")
        if duration_ms is None:  # records of schema version 1 lack it: derive it like Temporal
            duration_ms = max(0, close_ms - record["execution_time_ms"])
        doc[sa.EXECUTION_DURATION] = duration_ms * NANOS_PER_MILLI
    if memo:
        doc[sa.MEMO] = _base64(memo)
    if search_attributes:
        doc[sa.SEARCH_ATTRIBUTES] = _base64(search_attributes)
    return doc


def _base64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _search_attribute_fields(data: bytes) -> dict[str, Any]:
    """Indexable fields of the run's search attributes.

    Predefined attributes (``TemporalChangeVersion``, ``BuildIds``, ...) are fields of their own
    name. A custom attribute goes under ``Custom.<Type>.<name>`` by the ``type`` its payload
    carries: the history writes the registered type into every payload it stores
    (``schemas.visibility.validator.annotate``), so no namespace lookup is needed here. A value
    that does not fit its type is left out rather than failing the whole document.
    """
    attrs = SearchAttributes()
    try:
        attrs.ParseFromString(data)
    except DecodeError:
        log.warning("undecodable search attributes (%d bytes) left unindexed", len(data))
        return {}
    fields: dict[str, Any] = {}
    custom: dict[str, dict[str, Any]] = {}
    for name, payload in attrs.indexed_fields.items():
        value_type = sa.PREDEFINED.get(name)
        if value_type is not None:
            value = _payload_value(payload, value_type)
            if value is not None:
                fields[name] = value
            continue
        if name in sa.SYSTEM:
            continue  # never set by workflows (validated); the run's own fields are indexed
        try:
            value_type = ValueType.from_name(payload.metadata.get("type", b"").decode())
        except (ValueError, UnicodeDecodeError):
            continue
        value = _payload_value(payload, value_type)
        if value is not None:
            _, type_name, escaped = sa.custom_field(name, value_type).split(".", 2)
            custom.setdefault(type_name, {})[escaped] = value
    if custom:
        fields[sa.CUSTOM] = custom
    return fields


def _payload_value(payload: Payload, value_type: ValueType) -> Any:
    if payload.metadata.get("encoding") != b"json/plain":
        return None
    try:
        value = json.loads(payload.data)
    except ValueError:
        return None
    if value_type is ValueType.DATETIME:
        try:
            values = value if isinstance(value, list) else [value]
            parsed = [format_rfc3339(parse_rfc3339(v)) for v in values]
        except (TypeError, ValueError):
            return None
        return parsed if isinstance(value, list) else parsed[0]
    # A value of the wrong type would make Elasticsearch reject the whole document.
    return value if _fits(value, value_type) else None


def _fits(value: Any, value_type: ValueType) -> bool:
    if isinstance(value, list):
        return all(_fits(item, value_type) for item in value)
    if value_type is ValueType.BOOL:
        return isinstance(value, bool)
    if value_type is ValueType.INT:
        return isinstance(value, int) and not isinstance(value, bool)
    if value_type is ValueType.DOUBLE:
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, str)
