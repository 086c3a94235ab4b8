"""Temporal's rules for namespace settings: retention, archival, state changes, rate limits.

Pure functions shared by RegisterNamespace, UpdateNamespace and DeprecateNamespace; each
raises ``ServiceError`` with Temporal's message when a value breaks a rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from urllib.parse import urlparse

from google.protobuf.duration_pb2 import Duration
from temporalio.api.enums.v1 import ArchivalState
from temporalio.api.replication.v1 import ClusterReplicationConfig

from frontend.errors import invalid_argument
from schemas.namespaces import (
    ARCHIVAL_DISABLED,
    ARCHIVAL_ENABLED,
    RPS_DATA_KEY,
    State,
    parse_rps,
)
from schemas.retention import DEFAULT_MIN_RETENTION_MS

MIN_RETENTION_MS = DEFAULT_MIN_RETENTION_MS
"""Temporal's system.namespaceMinRetentionLocal default: one hour (the frontend's
``--namespace-min-retention`` changes it, as the dynamic config does Temporal's)."""
MAX_RETENTION_MS = 10_000 * 365 * 24 * 3600 * 1000
"""Temporal caps durations at ten thousand years (timestamp.ValidateAndCapProtoDuration)."""

ERR_NAMESPACE_NOT_SET = "Namespace not set on request."
ERR_NAMESPACE_TOO_LONG = "Namespace length exceeds limit."
ERR_INVALID_RETENTION = "A valid retention period is not set on request."
ERR_INVALID_STATE_UPDATE = "Invalid namespace state update."
ERR_URI_UPDATE = "Cannot update existing archival URI"
ERR_NO_DEFAULT_URI = (
    "Archival URI is not set on request: Strom has no cluster default archival URI."
)

# Temporal's validateStateUpdate: from a state, the states an update may move it to.
_STATE_CHANGES: dict[State, frozenset[State]] = {
    State.REGISTERED: frozenset({State.DEPRECATED, State.DELETED}),
    State.DEPRECATED: frozenset({State.DELETED}),
    State.DELETED: frozenset(),
}


def check_name(name: str, max_length: int) -> None:
    """A namespace name a request carries: set, and within the id length limit."""
    if not name:
        raise invalid_argument(ERR_NAMESPACE_NOT_SET)
    if len(name.encode()) > max_length:
        raise invalid_argument(ERR_NAMESPACE_TOO_LONG)


def retention_ms(retention: Duration | None, min_ms: int = MIN_RETENTION_MS) -> int:
    """The retention of a request in milliseconds; at least ``min_ms``, as Temporal.

    Args:
        retention: The request's duration; None when the request has none.
        min_ms: The smallest retention allowed (Temporal's namespaceMinRetentionLocal).
    """
    if retention is None:
        raise invalid_argument(ERR_INVALID_RETENTION)
    total_ms = retention.seconds * 1000 + retention.nanos // 1_000_000
    if retention.seconds < 0 or retention.nanos < 0 or total_ms < min_ms:
        raise invalid_argument(ERR_INVALID_RETENTION)
    return min(total_ms, MAX_RETENTION_MS)


def check_data(data: Mapping[str, str]) -> None:
    """Namespace data; the rate-limit key, when present, must hold a positive number."""
    if RPS_DATA_KEY in data and parse_rps(data[RPS_DATA_KEY]) is None:
        raise invalid_argument(
            f"Namespace data {RPS_DATA_KEY} must be a positive number of requests per "
            f"second, got {data[RPS_DATA_KEY]!r}."
        )


def check_state_change(old: State, new: State) -> None:
    """Temporal's allowed namespace state changes (an unchanged state always passes)."""
    if old is not new and new not in _STATE_CHANGES[old]:
        raise invalid_argument(ERR_INVALID_STATE_UPDATE)


def state_of(value: int) -> State:
    """The State of a NamespaceState enum value other than UNSPECIFIED."""
    for state in State:
        if state.proto == value:
            return state
    raise invalid_argument(ERR_INVALID_STATE_UPDATE)


def next_archival(
    state: str, uri: str, requested: ArchivalState.ValueType, requested_uri: str
) -> tuple[str, str]:
    """Temporal's archival state machine (namespace.ArchivalConfigState.GetNextState).

    Args:
        state: Current ``Disabled`` or ``Enabled``.
        uri: Current URI, "" when never set.
        requested: The request's state, UNSPECIFIED to keep it.
        requested_uri: The request's URI, "" to keep it.

    Returns:
        The new state and URI. A URI, once set, never changes; enabling needs a URI, and
        Strom has no cluster default to fall back on.
    """
    if requested_uri:
        _check_uri(requested_uri)
    if uri and requested_uri and requested_uri != uri:
        raise invalid_argument(ERR_URI_UPDATE)
    new_uri = uri or requested_uri
    if requested == ArchivalState.ARCHIVAL_STATE_ENABLED:
        if not new_uri:
            raise invalid_argument(ERR_NO_DEFAULT_URI)
        return ARCHIVAL_ENABLED, new_uri
    if requested == ArchivalState.ARCHIVAL_STATE_DISABLED:
        return ARCHIVAL_DISABLED, new_uri
    return state, new_uri


def archival_proto(state: str) -> ArchivalState.ValueType:
    """The ArchivalState of a stored archival state string."""
    if state == ARCHIVAL_ENABLED:
        return ArchivalState.ARCHIVAL_STATE_ENABLED
    return ArchivalState.ARCHIVAL_STATE_DISABLED


def check_clusters(
    cluster_name: str, active_cluster: str, clusters: Iterable[ClusterReplicationConfig]
) -> None:
    """A local namespace lives in this cluster only (Temporal's attr_validator)."""
    if active_cluster and active_cluster != cluster_name:
        raise invalid_argument("Invalid local namespace active cluster")
    names = {c.cluster_name for c in clusters}
    if names and names != {cluster_name}:
        raise invalid_argument("Invalid local namespace clusters")


def _check_uri(uri: str) -> None:
    parsed = urlparse(uri)
    if not parsed.scheme or not (parsed.netloc or parsed.path):
        raise invalid_argument(f"Invalid archival URI {uri!r}: it needs a scheme and a path.")


ERR_ACTIVE_NOT_IN_CLUSTERS = "Active cluster is not contained in all clusters."


def global_replication(
    cluster_name: str,
    known: Iterable[str],
    active_cluster: str,
    clusters: Iterable[ClusterReplicationConfig],
) -> tuple[str, tuple[str, ...]]:
    """The active cluster and clusters of a new global namespace (Temporal's defaults and
    ValidateNamespaceReplicationConfigForGlobalNamespace).

    Args:
        cluster_name: This cluster.
        known: The remote clusters with an enabled connection.
        active_cluster: The request's active cluster; "" means this cluster.
        clusters: The request's clusters; none means just the active one.

    Raises:
        ServiceError: INVALID_ARGUMENT for an unknown cluster or an active cluster not listed.
    """
    active = active_cluster or cluster_name
    names = tuple(c.cluster_name for c in clusters) or (active,)
    valid = {cluster_name, *known}
    for name in (active, *names):
        if name not in valid:
            raise invalid_argument(f"Invalid cluster name: {name}")
    if active not in names:
        raise invalid_argument(ERR_ACTIVE_NOT_IN_CLUSTERS)
    return active, names
