"""The replicator's pure rules: which batches and namespaces to copy, and at which version."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from temporalio.api.history.v1 import HistoryEvent

from schemas.namespaces import Namespace


def replicated_here(
    namespace: Namespace | None,
    local_cluster: str,
    source: str,
    local: Namespace | None = None,
) -> bool:
    """Whether batches of ``namespace`` read from cluster ``source`` are applied here.

    Only a global namespace that lists this cluster, and is active in the source cluster
    (the one cluster whose history may write its events), is replicated; once this
    cluster's own record (``local``) names another active cluster (a failover here), the
    source's batches are no longer applied.
    """
    if local is not None and local.active_cluster != source:
        return False
    return (
        namespace is not None
        and namespace.is_global
        and local_cluster in namespace.clusters
        and namespace.active_cluster == source
        and source != local_cluster
    )


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

    A global namespace active in the source cluster is copied with the same id (events,
    tokens and visibility documents carry it); a copy is never older than the local record
    (a lower failover version means this cluster took over since) and is skipped when
    nothing but the record's local version counter would change.
    """
    if not remote.is_global or remote.active_cluster != source:
        return None
    if local is not None:
        if local.failover_version > remote.failover_version:
            return None
        if replace(local, version=remote.version) == remote:
            return None
    return replace(remote, version=local.version + 1 if local is not None else 1)
