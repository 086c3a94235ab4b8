"""The replication service runs one replicator per remote-cluster record and follows them."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest

from helpers import eventually
from replicator.__main__ import main
from replicator.loop import ReplicatorConfig
from replicator.service import RemoteUnknownError, ReplicationService, wanted
from schemas.clusters import RemoteCluster

B = RemoteCluster("b", "id-b", "127.0.0.1:7233", initial_failover_version=2, history_shard_count=4)
C = RemoteCluster("c", "id-c", "127.0.0.1:7234", initial_failover_version=3, history_shard_count=4)


class FakeReplicator:
    """Runs until stopped; remembers its configuration."""

    def __init__(self, config: ReplicatorConfig, fail: bool = False) -> None:
        self.config = config
        self.fail = fail
        self._stop = threading.Event()

    def run(self) -> None:
        if self.fail:
            raise RuntimeError("the remote Kafka went away")
        self._stop.wait(30)

    def stop(self) -> None:
        self._stop.set()


@pytest.fixture
def made() -> list[FakeReplicator]:
    return []


def _service(made: list[FakeReplicator], fail: frozenset[str] = frozenset()) -> ReplicationService:
    kafka = {"127.0.0.1:7233": "kafka-b:9092", "127.0.0.1:7234": "kafka-c:9092"}

    def resolve(address: str) -> str:
        if address not in kafka:
            raise RemoteUnknownError(f"{address} does not answer")
        return kafka[address]

    def make(config: ReplicatorConfig) -> FakeReplicator:
        made.append(FakeReplicator(config, fail=config.remote_prefix in fail))
        return made[-1]

    return ReplicationService("kafka-a:9092", "a", resolve=resolve, make=make)


def test_one_replicator_per_enabled_record_with_the_remotes_kafka(
    made: list[FakeReplicator],
) -> None:
    service = _service(made)
    disabled = replace(C, connection_enabled=False)
    try:
        service.reconcile([B, disabled], now=0)
        assert service.running() == ["b"]
        (config,) = [r.config for r in made]
        assert (config.remote_bootstrap, config.remote_prefix) == ("kafka-b:9092", "b")
        assert (config.bootstrap, config.prefix) == ("kafka-a:9092", "a")
        assert config.remote_initial_version == 2

        service.reconcile([B, C], now=1)  # C enabled: started; B untouched
        assert service.running() == ["b", "c"] and len(made) == 2
        service.reconcile([C], now=2)  # B removed: stopped
        assert service.running() == ["c"]
    finally:
        service.reconcile([], now=3)
    assert service.running() == []


def test_an_unknown_remote_and_a_failed_replicator_are_retried_with_backoff(
    made: list[FakeReplicator],
) -> None:
    lost = replace(B, address="127.0.0.1:1")
    service = _service(made, fail=frozenset({"c"}))
    try:
        service.reconcile([lost], now=0)
        assert service.running() == [] and not made
        service.reconcile([B], now=0.5)  # the record changed: asked again at once
        assert service.running() == ["b"]

        service.reconcile([B, C], now=1)
        eventually(lambda: service.running() == ["b"], 10)  # C's replicator failed
        service.reconcile([B, C], now=1.5)  # noticed: C waits for its backoff
        assert len(made) == 2
        service.reconcile([B, C], now=100)
        assert len(made) == 3 and made[-1].config.remote_prefix == "c"
    finally:
        service.reconcile([], now=200)


def test_wanted_skips_this_cluster_and_disabled_records() -> None:
    own = replace(B, name="a")
    assert list(wanted([own, B, replace(C, connection_enabled=False)], "a")) == ["b"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--remote-prefix", "b"], "--remote-bootstrap and --remote-prefix go together"),
        (
            ["--remote-bootstrap", "k:1", "--remote-prefix", "a"],
            "--remote-prefix must name another cluster",
        ),
        (
            [
                "--remote-bootstrap",
                "k:1",
                "--remote-prefix",
                "b",
                "--remote-initial-failover-version",
                "10",
            ],
            "--remote-initial-failover-version must be 0..9",
        ),
    ],
)
def test_bad_flags_are_clear_errors(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--bootstrap", "k:0", "--prefix", "a", *argv])
    assert exited.value.code == 2
    assert message in capsys.readouterr().err
