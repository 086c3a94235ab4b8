"""The replicator's pure rules: which batches and namespaces to copy, and at which version."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from temporalio.api.history.v1 import HistoryEvent

import schemas
from schemas.clusters import FAILOVER_VERSION_INCREMENT, owning_cluster_version
from schemas.namespaces import Namespace


def replicated_here(
    namespace: Namespace | None,
    local_cluster: str,
    source: str,
    local: Namespace | None = None,
) -> bool:
    """Whether batches of ``namespace`` read from cluster ``source`` are applied here, when
    the versions the source writes are unknown (no remote-cluster record names them).

    Only a global namespace that lists this cluster, and is active in the source cluster
    (the one cluster whose history may write its events), is replicated; once this
    cluster's own record (``local``) names another active cluster (a failover here), the
    source's batches are no longer applied. With the source's versions known,
    `shared_with` and `written_by` decide instead.
    """
    if local is not None and local.active_cluster != source:
        return False
    return (
        shared_with(namespace, local_cluster)
        and namespace is not None
        and namespace.active_cluster == source
        and source != local_cluster
    )


def shared_with(namespace: Namespace | None, local_cluster: str) -> bool:
    """Whether ``namespace`` is a global namespace replicated to ``local_cluster``."""
    return namespace is not None and namespace.is_global and local_cluster in namespace.clusters


def written_by(
    events: Sequence[HistoryEvent],
    source_initial_version: int,
    increment: int = FAILOVER_VERSION_INCREMENT,
) -> bool:
    """Whether a batch was written by the cluster owning ``source_initial_version``.

    Every cluster replicates each global namespace from every other cluster (Temporal's
    model), so a cluster's events topic also holds the batches it folded from the others,
    its reader's own among them. Only the batches the source wrote itself are taken from
    it: its events carry a version the source owns. A batch of state updates only carries
    no version; it is passed on (history ignores a batch it already has, by its transition).
    """
    versions = {event.version for event in events if event.version}
    if not versions:
        return True
    return owning_cluster_version(max(versions), increment) == source_initial_version


def batch_version(events: Sequence[HistoryEvent], namespace_version: int) -> int:
    """A batch's failover version: its events' (the active cluster stamps them), or, for a
    batch of state updates only, the namespace's version known now."""
    versions = [event.version for event in events if event.version]
    return max(versions) if versions else namespace_version


def transition_of(key: bytes) -> int:
    """The state-transition number ending an events-topic key ``<ns>/<wf>/<run>/<n>``.

    Raises:
        ValueError: The key does not end in a number.
    """
    return int(key.decode().rsplit("/", 1)[-1])


def namespace_copy(remote: Namespace, local: Namespace | None, source: str) -> Namespace | None:
    """The record to write to this cluster's namespaces topic for a remote namespace, or None.

    A global namespace is copied with the same id (events, tokens and visibility documents
    carry it). A failover may be made on any cluster of the namespace (Temporal's rule), so
    a record with a higher failover version than the local one wins wherever it is active:
    that is how the old active cluster learns that it is standby now, and how a fail-back
    reaches the cluster failed back from. At the same failover version only the cluster
    where the namespace is active changes it (an update of its settings). A copy is never
    older than the local record and is skipped when nothing but the record's local version
    counter would change.
    """
    if not remote.is_global:
        return None
    if local is None:
        if remote.active_cluster != source:
            return None  # the active cluster's own record will come from it
    else:
        if local.failover_version > remote.failover_version:
            return None
        if local.failover_version == remote.failover_version and remote.active_cluster != source:
            return None
        if replace(local, version=remote.version) == remote:
            return None
    return replace(remote, version=local.version + 1 if local is not None else 1)


def command_id(source: str, partition: int, offset: int) -> str:
    """The inbox command id of the ReplicateEvents made from one source record."""
    return f"replicate/{source}/{partition}/{offset}"


def gap_at(letter: Mapping[str, Any], source: str, inbox_topic: str) -> tuple[int, int] | None:
    """The source (partition, offset) of a batch history refused for a gap, from a dead letter.

    History dead-letters a refused ReplicateEvents inbox record as it read it
    (`history_processor.standby.refused_batch`); the command id names the source record.
    Letters of other services, other sources or other reasons give None.
    """
    if letter.get("service") != "history" or letter.get("source_topic") != inbox_topic:
        return None
    if "refused: gap:" not in str(letter.get("error", "")):
        return None
    value = letter.get("value")
    if not value:
        return None
    try:
        command = schemas.decode(value, schemas.INBOX_COMMAND)
    except schemas.SchemaError:
        return None
    parts = str(command["command_id"]).split("/")
    if len(parts) != 4 or parts[:2] != ["replicate", source]:
        return None
    try:
        return int(parts[2]), int(parts[3])
    except ValueError:
        return None
