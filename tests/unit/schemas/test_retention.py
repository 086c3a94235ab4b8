"""Retention's pure rules: the expired-runs filter, durations, a deleted namespace's names."""

from __future__ import annotations

from dataclasses import replace

import pytest

from schemas import retention
from schemas.namespaces import Namespace, State, deleted_name
from schemas.visibility import attributes as sa
from schemas.visibility.query import translate
from schemas.visibility.timefmt import parse_rfc3339


def test_expired_query_cuts_at_now_minus_retention() -> None:
    now_ms = 1_800_000_000_123
    text = retention.expired_query(now_ms, 2_000)
    cutoff = text.split("CloseTime < '")[1].split("'")[0]
    assert parse_rfc3339(cutoff) == (now_ms - 2_000) * 1_000_000
    assert "ExecutionStatus != 'Running'" in text


def test_expired_query_translates_and_includes_system_runs() -> None:
    """Retention must see schedules' closed runs: no "division must be absent" clause."""
    plain = translate("ExecutionStatus != 'Running'", "ns")
    hidden = {"bool": {"must_not": [{"exists": {"field": sa.NAMESPACE_DIVISION}}]}}
    assert str(hidden["bool"]["must_not"][0]) in str(plain.query)
    expired = translate(retention.expired_query(1_800_000_000_000, 3_600_000), "ns")
    all_runs = translate(retention.all_runs_query(), "ns")
    for parsed in (expired, all_runs):
        # the only reference to the division is the OR that accepts both cases
        assert str(parsed.query).count(sa.NAMESPACE_DIVISION) == 2


@pytest.mark.parametrize(
    ("text", "millis"),
    [
        ("90s", 90_000),
        ("10m", 600_000),
        ("1h", 3_600_000),
        ("1d", 86_400_000),
        ("2", 2_000),
        ("250ms", 250),
        (" 1.5s ", 1_500),
    ],
)
def test_parse_duration(text: str, millis: int) -> None:
    assert retention.parse_duration_ms(text) == millis


@pytest.mark.parametrize("text", ["", "s", "abc", "-1s", "0", "1w", "inf"])
def test_parse_duration_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        retention.parse_duration_ms(text)


def test_history_name_of_a_deleted_namespace_is_its_old_name() -> None:
    live = Namespace(name="orders-deleted-x", id="0123456789")
    assert retention.history_name(live) == "orders-deleted-x"  # not deleted: its own name
    deleted = replace(live, name=deleted_name(replace(live, name="orders")), state=State.DELETED)
    assert deleted.name == "orders-deleted-01234"
    assert retention.history_name(deleted) == "orders"
    # a deleted record whose name does not carry the suffix keeps its name
    assert retention.history_name(replace(deleted, name="odd")) == "odd"


def test_reclaim_workflow_id_is_temporals() -> None:
    assert (
        retention.reclaim_workflow_id("orders-deleted-01234")
        == "temporal-sys-reclaim-namespace-resources-workflow/orders-deleted-01234"
    )
