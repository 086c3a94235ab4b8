"""Temporal's rules for namespace settings, checked without a server."""

from __future__ import annotations

import pytest
from google.protobuf.duration_pb2 import Duration
from temporalio.api.enums.v1 import ArchivalState
from temporalio.api.replication.v1 import ClusterReplicationConfig

from frontend import namespace_rules as rules
from frontend.errors import ServiceError
from schemas.namespaces import Namespace, State, deleted_name, fresh_namespace_id, namespace_id

ENABLED = ArchivalState.ARCHIVAL_STATE_ENABLED
DISABLED = ArchivalState.ARCHIVAL_STATE_DISABLED
KEEP = ArchivalState.ARCHIVAL_STATE_UNSPECIFIED


def message_of(call: object) -> str:
    assert callable(call)
    with pytest.raises(ServiceError) as err:
        call()
    return err.value.message


@pytest.mark.parametrize(
    ("state", "uri", "requested", "requested_uri", "expected"),
    [
        ("Disabled", "", ENABLED, "file:///a", ("Enabled", "file:///a")),
        ("Disabled", "", KEEP, "file:///a", ("Disabled", "file:///a")),
        ("Disabled", "", DISABLED, "", ("Disabled", "")),
        ("Disabled", "file:///a", ENABLED, "", ("Enabled", "file:///a")),
        ("Enabled", "file:///a", DISABLED, "", ("Disabled", "file:///a")),
        ("Enabled", "file:///a", KEEP, "file:///a", ("Enabled", "file:///a")),
        ("Enabled", "file:///a", ENABLED, "", ("Enabled", "file:///a")),
    ],
)
def test_archival_state_machine(
    state: str,
    uri: str,
    requested: ArchivalState.ValueType,
    requested_uri: str,
    expected: tuple[str, str],
) -> None:
    assert rules.next_archival(state, uri, requested, requested_uri) == expected


def test_archival_refusals() -> None:
    assert (
        message_of(lambda: rules.next_archival("Disabled", "s3://b/a", KEEP, "s3://b/other"))
        == "Cannot update existing archival URI"
    )
    assert "no cluster default archival URI" in message_of(
        lambda: rules.next_archival("Disabled", "", ENABLED, "")
    )
    assert "needs a scheme" in message_of(
        lambda: rules.next_archival("Disabled", "", ENABLED, "no-scheme")
    )


@pytest.mark.parametrize(
    ("seconds", "nanos", "ok"),
    [(3600, 0, True), (3599, 999_000_000, False), (0, 0, False), (-86400, 0, False)],
)
def test_retention_is_at_least_an_hour(seconds: int, nanos: int, ok: bool) -> None:
    retention = Duration(seconds=seconds, nanos=nanos)
    if ok:
        assert rules.retention_ms(retention) == seconds * 1000
    else:
        assert message_of(lambda: rules.retention_ms(retention)) == rules.ERR_INVALID_RETENTION
    assert message_of(lambda: rules.retention_ms(None)) == rules.ERR_INVALID_RETENTION


def test_retention_is_capped_at_ten_thousand_years() -> None:
    assert rules.retention_ms(Duration(seconds=10**13)) == rules.MAX_RETENTION_MS


@pytest.mark.parametrize(
    ("old", "new", "ok"),
    [
        (State.REGISTERED, State.DEPRECATED, True),
        (State.REGISTERED, State.DELETED, True),
        (State.DEPRECATED, State.DELETED, True),
        (State.DEPRECATED, State.DEPRECATED, True),
        (State.DEPRECATED, State.REGISTERED, False),
        (State.DELETED, State.REGISTERED, False),
        (State.DELETED, State.DEPRECATED, False),
    ],
)
def test_state_changes(old: State, new: State, ok: bool) -> None:
    if ok:
        rules.check_state_change(old, new)
    else:
        assert message_of(lambda: rules.check_state_change(old, new)) == (
            rules.ERR_INVALID_STATE_UPDATE
        )


@pytest.mark.parametrize("value", ["0", "-5", "fast", "inf", ""])
def test_rps_in_data_must_be_a_positive_number(value: str) -> None:
    assert "frontend.namespaceRPS" in message_of(
        lambda: rules.check_data({"frontend.namespaceRPS": value})
    )


def test_rps_in_data_accepts_numbers_and_json_strings() -> None:
    rules.check_data({"frontend.namespaceRPS": "12.5", "other": "anything"})
    namespace = Namespace(name="n", id="i", data={"frontend.namespaceRPS": '"7"'})
    assert namespace.rps_limit == 7.0
    assert Namespace(name="n", id="i").rps_limit is None


def test_names_and_clusters() -> None:
    assert message_of(lambda: rules.check_name("", 10)) == rules.ERR_NAMESPACE_NOT_SET
    assert message_of(lambda: rules.check_name("x" * 11, 10)) == rules.ERR_NAMESPACE_TOO_LONG
    rules.check_clusters("strom", "", [ClusterReplicationConfig(cluster_name="strom")])
    assert message_of(
        lambda: rules.check_clusters("strom", "", [ClusterReplicationConfig(cluster_name="b")])
    ) == ("Invalid local namespace clusters")


def test_deleted_names_and_fresh_ids() -> None:
    first = Namespace(name="orders", id=namespace_id("c", "orders"))
    taken = {first.id: first}

    assert deleted_name(first) == f"orders-deleted-{first.id[:5]}"
    again = fresh_namespace_id(taken.get, "c", "orders")
    assert again != first.id
    assert again == fresh_namespace_id(taken.get, "c", "orders")  # every frontend agrees
    assert fresh_namespace_id({}.get, "c", "orders") == first.id
