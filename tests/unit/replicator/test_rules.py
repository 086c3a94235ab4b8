"""The replicator's rules: which namespaces and batches are copied, at which version."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from temporalio.api.history.v1 import HistoryEvent

import schemas
from replicator import rules
from schemas import inbox
from schemas.namespaces import Namespace

ORDERS = Namespace(
    "orders",
    "id-orders",
    is_global=True,
    active_cluster="active",
    clusters=("active", "standby"),
    failover_version=1,
    version=4,
)


@pytest.mark.parametrize(
    ("namespace", "local", "source", "expected"),
    [
        (ORDERS, "standby", "active", True),
        (ORDERS, "third", "active", False),  # not one of its clusters
        (ORDERS, "standby", "other", False),  # the source is not where it is active
        (replace(ORDERS, is_global=False), "standby", "active", False),
        (replace(ORDERS, active_cluster="standby"), "standby", "active", False),  # failed over
        (None, "standby", "active", False),
    ],
)
def test_replicated_here(
    namespace: Namespace | None, local: str, source: str, expected: bool
) -> None:
    assert rules.replicated_here(namespace, local, source) is expected


def test_batch_version_prefers_the_events() -> None:
    assert rules.batch_version([HistoryEvent(version=11), HistoryEvent(version=11)], 21) == 11
    assert rules.batch_version([], 21) == 21  # state updates only
    assert rules.batch_version([HistoryEvent()], 1) == 1  # written before it was global


def test_transition_of_a_key_with_slashes_in_the_workflow_id() -> None:
    assert rules.transition_of(b"orders/a/b/c/run-1/17") == 17
    with pytest.raises(ValueError):
        rules.transition_of(b"orders/wf/run-1/x")


def test_namespace_copy_keeps_the_id_and_never_goes_back() -> None:
    first = rules.namespace_copy(ORDERS, None, "active")
    assert first is not None and first.id == ORDERS.id and first.version == 1

    assert rules.namespace_copy(ORDERS, replace(ORDERS, version=1), "active") is None  # same
    changed = replace(ORDERS, description="new")
    again = rules.namespace_copy(changed, replace(ORDERS, version=3), "active")
    assert again is not None and again.description == "new" and again.version == 4
    newer_here = replace(ORDERS, failover_version=12, active_cluster="standby")
    assert rules.namespace_copy(changed, newer_here, "active") is None
    assert rules.namespace_copy(replace(ORDERS, is_global=False), None, "active") is None


def test_batches_stop_once_this_cluster_took_over() -> None:
    here = replace(ORDERS, active_cluster="standby", failover_version=12)

    assert rules.replicated_here(ORDERS, "standby", "active", local=ORDERS)
    assert not rules.replicated_here(ORDERS, "standby", "active", local=here)


def test_a_failover_made_on_any_cluster_reaches_the_others() -> None:
    # A failover made on the standby ("standby" active at version 2) reaches the old
    # active cluster through its replicator reading the standby.
    failed_over = replace(ORDERS, active_cluster="standby", failover_version=2)
    copy = rules.namespace_copy(failed_over, replace(ORDERS, version=7), "standby")
    assert copy is not None and copy.active_cluster == "standby" and copy.version == 8
    # A fail-back made on the cluster failed over to (it names the other cluster) wins too.
    back = replace(ORDERS, active_cluster="active", failover_version=11)
    copy = rules.namespace_copy(back, failed_over, "standby")
    assert copy is not None and copy.active_cluster == "active"
    # At the same version only the active cluster's record changes the settings: the
    # other cluster's copy of it coming back changes nothing.
    echo = replace(ORDERS, description="stale copy")
    assert rules.namespace_copy(echo, ORDERS, "standby") is None
    # An older version never wins.
    assert rules.namespace_copy(ORDERS, back, "active") is None


@pytest.mark.parametrize(
    ("versions", "source_initial", "expected"),
    [
        ([1, 1], 1, True),  # written by the source (initial version 1)
        ([11], 1, True),  # the source's version after a fail-back (1 -> 2 -> 11)
        ([2], 1, False),  # this cluster's own batch (initial 2) coming back
        ([3], 1, False),  # a third cluster's, replicated from it directly
        ([0], 1, True),  # state updates only: passed on, history drops what it has
        ([], 2, True),
    ],
)
def test_only_the_batches_the_source_wrote_are_taken_from_it(
    versions: list[int], source_initial: int, expected: bool
) -> None:
    events = [HistoryEvent(version=v) for v in versions]
    assert rules.written_by(events, source_initial) is expected


def test_shared_with() -> None:
    assert rules.shared_with(ORDERS, "standby")
    assert rules.shared_with(replace(ORDERS, active_cluster="standby"), "active")
    assert not rules.shared_with(ORDERS, "third")
    assert not rules.shared_with(replace(ORDERS, is_global=False), "standby")
    assert not rules.shared_with(None, "standby")


def _letter(command_id: str, error: str, **changes: Any) -> dict[str, Any]:
    record = inbox.command_record(command_id, "orders", "wf", inbox.REPLICATE_EVENTS, b"{}", 1)
    letter: dict[str, Any] = {
        "service": "history",
        "source_topic": "standby.history.inbox",
        "source_partition": 0,
        "source_offset": 3,
        "key": b"orders/wf",
        "value": schemas.encode(schemas.INBOX_COMMAND, record),
        "error": error,
        "time_ms": 1,
    }
    letter.update(changes)
    return letter


def test_a_gap_letter_names_the_source_record_to_read_again() -> None:
    inbox_topic = "standby.history.inbox"
    gap = "replicated batch x refused: gap: batch 3 of run r does not follow batch 1"
    cid = rules.command_id("active", 2, 41)
    assert cid == "replicate/active/2/41"

    assert rules.gap_at(_letter(cid, gap), "active", inbox_topic) == (2, 41)
    older = "replicated batch x refused: older_version: failover version 1 is older"
    assert rules.gap_at(_letter(cid, older), "active", inbox_topic) is None  # not a gap
    assert rules.gap_at(_letter(cid, gap), "third", inbox_topic) is None  # another source
    other_topic = _letter(cid, gap, source_topic="standby.tasks")
    assert rules.gap_at(other_topic, "active", inbox_topic) is None
    assert rules.gap_at(_letter(cid, gap, service="matching"), "active", inbox_topic) is None
    assert rules.gap_at(_letter(cid, gap, value=b"\x00junk"), "active", inbox_topic) is None
    assert rules.gap_at(_letter("start-1", gap), "active", inbox_topic) is None
