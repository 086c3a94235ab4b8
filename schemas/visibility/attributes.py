"""Temporal's search attributes known to Strom: names, value types and name resolution."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from urllib.parse import quote

from temporalio.api.enums.v1 import IndexedValueType, WorkflowExecutionStatus


class ValueType(enum.Enum):
    """Type of a search attribute; the value is the name Temporal prints in its messages."""

    TEXT = "Text"
    KEYWORD = "Keyword"
    INT = "Int"
    DOUBLE = "Double"
    BOOL = "Bool"
    DATETIME = "Datetime"
    KEYWORD_LIST = "KeywordList"

    @property
    def proto(self) -> IndexedValueType.ValueType:
        """The matching ``temporal.api.enums.v1.IndexedValueType`` value."""
        return IndexedValueType.Value(f"INDEXED_VALUE_TYPE_{self.name}")

    @classmethod
    def from_proto(cls, value: int) -> ValueType:
        """The type of an ``IndexedValueType`` value.

        Raises:
            ValueError: ``INDEXED_VALUE_TYPE_UNSPECIFIED`` or a number the enum lacks.
        """
        try:
            name = IndexedValueType.Name(value)  # type: ignore[arg-type]
        except ValueError:
            raise ValueError(value) from None
        return cls[name.removeprefix("INDEXED_VALUE_TYPE_")]

    @classmethod
    def from_name(cls, name: str) -> ValueType:
        """The type named ``Keyword`` (Go's ``String()``, as in payload metadata) or
        ``INDEXED_VALUE_TYPE_KEYWORD``, as Temporal's ``IndexedValueTypeFromString`` reads it.

        Raises:
            ValueError: No such type.
        """
        for value_type in cls:
            if name in (value_type.value, f"INDEXED_VALUE_TYPE_{value_type.name}"):
                return value_type
        raise ValueError(name)


NAMESPACE = "Namespace"
NAMESPACE_ID = "NamespaceId"
WORKFLOW_ID = "WorkflowId"
RUN_ID = "RunId"
WORKFLOW_TYPE = "WorkflowType"
START_TIME = "StartTime"
EXECUTION_TIME = "ExecutionTime"
CLOSE_TIME = "CloseTime"
EXECUTION_STATUS = "ExecutionStatus"
TASK_QUEUE = "TaskQueue"
HISTORY_LENGTH = "HistoryLength"
EXECUTION_DURATION = "ExecutionDuration"
NAMESPACE_DIVISION = "TemporalNamespaceDivision"
SCHEDULE_ID = "ScheduleId"
MEMO = "Memo"
SEARCH_ATTRIBUTES = "SearchAttributes"
RESERVED_PREFIX = "Temporal"
CHANGE_VERSION = "TemporalChangeVersion"
BUILD_IDS = "BuildIds"
BINARY_CHECKSUMS = "BinaryChecksums"
CUSTOM = "Custom"
"""Object field of the index under which custom attributes live, one sub-object per type."""

SYSTEM: Mapping[str, ValueType] = {
    WORKFLOW_ID: ValueType.KEYWORD,
    RUN_ID: ValueType.KEYWORD,
    WORKFLOW_TYPE: ValueType.KEYWORD,
    START_TIME: ValueType.DATETIME,
    EXECUTION_TIME: ValueType.DATETIME,
    CLOSE_TIME: ValueType.DATETIME,
    EXECUTION_STATUS: ValueType.KEYWORD,
    TASK_QUEUE: ValueType.KEYWORD,
    HISTORY_LENGTH: ValueType.INT,
    EXECUTION_DURATION: ValueType.INT,
    "StateTransitionCount": ValueType.INT,
    "HistorySizeBytes": ValueType.INT,
    "ParentWorkflowId": ValueType.KEYWORD,
    "ParentRunId": ValueType.KEYWORD,
    "RootWorkflowId": ValueType.KEYWORD,
    "RootRunId": ValueType.KEYWORD,
}
"""Attributes stored as fields of the execution itself (Temporal's ``sadefs.system``)."""

PREDEFINED: Mapping[str, ValueType] = {
    "TemporalChangeVersion": ValueType.KEYWORD_LIST,
    "BinaryChecksums": ValueType.KEYWORD_LIST,
    "BuildIds": ValueType.KEYWORD_LIST,
    "BatcherNamespace": ValueType.KEYWORD,
    "BatcherUser": ValueType.KEYWORD,
    "TemporalScheduledStartTime": ValueType.DATETIME,
    "TemporalScheduledById": ValueType.KEYWORD,
    "TemporalSchedulePaused": ValueType.BOOL,
    NAMESPACE_DIVISION: ValueType.KEYWORD,
    "TemporalPauseInfo": ValueType.KEYWORD_LIST,
    "TemporalReportedProblems": ValueType.KEYWORD_LIST,
    "TemporalWorkerDeploymentVersion": ValueType.KEYWORD,
    "TemporalWorkflowVersioningBehavior": ValueType.KEYWORD,
    "TemporalWorkerDeployment": ValueType.KEYWORD,
    "TemporalUsedWorkerDeploymentVersions": ValueType.KEYWORD_LIST,
    "TemporalExternalPayloadCount": ValueType.INT,
    "TemporalExternalPayloadSizeBytes": ValueType.INT,
}
"""Attributes the server sets inside the execution's search attributes (``sadefs.predefined``)."""

PREDEFINED_WHITELIST = frozenset(
    {
        "TemporalChangeVersion",
        "BinaryChecksums",
        "BuildIds",
        "BatcherNamespace",
        "BatcherUser",
        "TemporalScheduledStartTime",
        "TemporalScheduledById",
        "TemporalSchedulePaused",
        NAMESPACE_DIVISION,
        "TemporalPauseInfo",
        "TemporalReportedProblems",
    }
)
"""Predefined attributes a workflow may set itself (Temporal's ``predefinedWhiteList``)."""

RESERVED = frozenset({NAMESPACE_ID, "MemoEncoding", MEMO, "VisibilityTaskKey"})
"""Field names that are no search attribute yet may not be used as one."""

GROUP_BY_ALLOWED = frozenset({EXECUTION_STATUS, NAMESPACE_DIVISION})
GROUP_BY_ALLOWED_PREFIX = "TemporalLowCardinalityKeyword"


def is_reserved(name: str) -> bool:
    """Whether ``name`` may not become a custom search attribute (Temporal's ``IsReserved``)."""
    return (
        name in SYSTEM or name in PREDEFINED or name in RESERVED or name.startswith(RESERVED_PREFIX)
    )


def custom_field(name: str, value_type: ValueType) -> str:
    """The index field of a custom search attribute: ``Custom.<Type>.<escaped name>``.

    Custom attributes belong to a namespace, yet all namespaces share one index: the type in
    the path keeps two namespaces' attributes of one name but different types apart (an
    Elasticsearch field has one type), and queries are always scoped to one namespace. The
    name is percent-encoded beyond ``[A-Za-z0-9_~-]`` so that dots never nest objects and no
    two names share a field; the empty name (Temporal accepts it) becomes ``%``.
    """
    escaped = quote(name, safe="").replace(".", "%2E") if name else "%"
    return f"{CUSTOM}.{value_type.value}.{escaped}"


def resolve(alias: str, custom: Mapping[str, ValueType] | None = None) -> tuple[str, ValueType]:
    """Resolves a name written in a query to its field name and type, as Temporal does.

    Custom attributes win over the ``ScheduleId`` alias; then the name, the name with the
    ``Temporal`` prefix added and the name with it removed are tried, in that order. A custom
    attribute's field is ``custom_field(name, type)``.

    Args:
        alias: The name as the user wrote it (case-sensitive).
        custom: The namespace's custom search attributes, if any.

    Returns:
        ``(field name, type)``.

    Raises:
        KeyError: The name is no search attribute; the message is the bare alias.
    """
    known = {**SYSTEM, **PREDEFINED}
    mappable = alias not in known
    if mappable:
        if custom and alias in custom:
            return custom_field(alias, custom[alias]), custom[alias]
        if alias == SCHEDULE_ID:
            return WORKFLOW_ID, SYSTEM[WORKFLOW_ID]
    for name in (alias, RESERVED_PREFIX + alias, alias.removeprefix(RESERVED_PREFIX)):
        if name in known:
            return name, known[name]
    raise KeyError(alias)


def status_name(value: int) -> str:
    """Temporal's short name of a ``WorkflowExecutionStatus`` value, e.g. ``ContinuedAsNew``.

    Raises:
        ValueError: Not a status value.
    """
    full = WorkflowExecutionStatus.Name(value)  # type: ignore[arg-type]
    words = full.removeprefix("WORKFLOW_EXECUTION_STATUS_").split("_")
    return "".join(word.capitalize() for word in words)


def status_value(name: str) -> int:
    """The ``WorkflowExecutionStatus`` value of a short (``Running``) or full enum name.

    Raises:
        ValueError: Not a status name.
    """
    for value in WorkflowExecutionStatus.values():
        if name in (status_name(value), WorkflowExecutionStatus.Name(value)):
            return int(value)
    raise ValueError(name)
