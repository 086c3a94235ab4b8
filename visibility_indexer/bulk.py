"""Versioned bulk writes to Elasticsearch, retried until every action is applied or stale."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from elasticsearch import ApiError, Elasticsearch, TransportError

from visibility_indexer.documents import IndexAction

log = logging.getLogger(__name__)

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
"""Item statuses worth retrying: load and transient node failures."""


Rejected = Callable[[IndexAction, Mapping[str, Any]], None]
"""Told of an action Elasticsearch refused for good (a 4xx other than 409), with its error."""


def bulk_once(
    es: Elasticsearch,
    index: str,
    actions: Sequence[IndexAction],
    on_rejected: Rejected | None = None,
) -> list[IndexAction]:
    """Sends one bulk request and sorts out its items.

    An item is done when applied, when Elasticsearch holds a newer or equal version (409:
    replays and reordering are expected), or when a delete finds nothing. Other client errors
    (4xx, e.g. a document the mapping rejects) can never succeed: they go to `on_rejected`
    (the indexer dead-letters them) and count as done.

    Returns:
        The actions to retry.

    Raises:
        elasticsearch.TransportError, elasticsearch.ApiError: The whole request failed.
    """
    if not actions:
        return []
    operations: list[dict[str, Any]] = []
    for action in actions:
        operations.extend(action.bulk_lines(index))
    result = es.bulk(operations=operations)
    if not result["errors"]:
        return []
    retry = []
    for action, item in zip(actions, result["items"], strict=True):
        outcome = next(iter(item.values()))
        status = outcome["status"]
        if status < 300 or status == 409 or (status == 404 and action.is_delete):
            continue
        if status in RETRYABLE_STATUS:
            retry.append(action)
        else:
            log.error("visibility document %s refused: %s", action.doc_id, outcome)
            if on_rejected is not None:
                on_rejected(action, outcome)
    return retry


def bulk_until_done(
    es: Elasticsearch,
    index: str,
    actions: Sequence[IndexAction],
    stop: threading.Event,
    *,
    max_backoff: float = 5.0,
    on_rejected: Rejected | None = None,
) -> bool:
    """Retries :func:`bulk_once` on what is left, with exponential backoff, until done.

    Returns:
        True when every action is done; False when ``stop`` was set first.
    """
    pending: Sequence[IndexAction] = actions
    delay = 0.05
    while pending and not stop.is_set():
        try:
            pending = bulk_once(es, index, pending, on_rejected)
        except (TransportError, ApiError) as err:
            log.warning("bulk request failed, retrying in %.2fs: %s", delay, err)
        else:
            if pending:
                log.warning("%d documents not indexed, retrying in %.2fs", len(pending), delay)
        if pending:
            stop.wait(delay)
            delay = min(delay * 2, max_backoff)
    return not pending


def newest_per_document(actions: Iterable[IndexAction]) -> list[IndexAction]:
    """Keeps the highest-version action of each document, in first-seen order."""
    newest: dict[str, IndexAction] = {}
    for action in actions:
        kept = newest.get(action.doc_id)
        if kept is None or action.version > kept.version:
            newest[action.doc_id] = action
    return list(newest.values())
