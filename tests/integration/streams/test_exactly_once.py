"""Exactly-once proof of streams/ on the real broker: SIGKILL, rebuild, hand-over, zombie."""

from __future__ import annotations

import random
import signal
import time
from pathlib import Path

import pytest

from streams import RocksDBStore
from tests.integration.streams.harness import (
    PARTITIONS,
    CounterProcess,
    Feeder,
    Outputs,
    Topics,
    uncommitted_inputs,
    wait_for,
)

pytestmark = pytest.mark.kafka


def _read_state(state_dir: Path) -> dict[int, dict[bytes, bytes]]:
    store = RocksDBStore(state_dir)
    state = {}
    for partition in range(PARTITIONS):
        part = store.open_partition(partition)
        state[partition] = dict(part.items(b""))
        part.close()
    return state


@pytest.mark.timeout(240)
def test_sigkill_at_random_moments_loses_and_duplicates_nothing(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    topics, app_id = Topics.fresh(kafka_bootstrap, "eos")
    proc = CounterProcess(kafka_bootstrap, topics, app_id, "a", tmp_path / "a", tmp_path / "a.log")
    feeder = Feeder(kafka_bootstrap, topics.input, total=3000, rate=150, keys=7)
    proc.start()
    feeder.start()
    rng = random.Random(7)
    kills = 0
    try:
        while kills < 4:
            time.sleep(rng.uniform(1.0, 3.0))
            proc.kill()
            kills += 1
            proc.start()
        feeder.join(60)
        outputs = Outputs.read(kafka_bootstrap, topics.output, 3000, timeout=90)
    finally:
        proc.stop()
    assert kills == 4
    outputs.assert_exactly_once(feeder.sent)
    outputs.assert_acknowledged_only_once_committed(
        Outputs.read(kafka_bootstrap, topics.acks, 0, timeout=30)
    )
    final = _read_state(tmp_path / "a")
    merged = {k.decode(): int(v) for part in final.values() for k, v in part.items()}
    assert merged == dict(feeder.sent)


@pytest.mark.timeout(180)
def test_deleting_the_rocksdb_directory_rebuilds_the_same_state(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    topics, app_id = Topics.fresh(kafka_bootstrap, "eos")
    proc = CounterProcess(kafka_bootstrap, topics, app_id, "a", tmp_path / "a", tmp_path / "a.log")
    feeder = Feeder(kafka_bootstrap, topics.input, total=500, rate=1000, keys=5)
    proc.start()
    feeder.start()
    feeder.join(30)
    Outputs.read(kafka_bootstrap, topics.output, 500, timeout=60)
    proc.stop()
    before = _read_state(tmp_path / "a")
    assert sum(int(v) for p in before.values() for v in p.values()) == 500

    for partition in range(PARTITIONS):
        RocksDBStore(tmp_path / "a").destroy_partition(partition)
    proc.start()
    wait_for(lambda: proc.owned() == list(range(PARTITIONS)), 60, "restore")
    proc.stop()
    assert "records after offset -1" in proc.log_text()
    assert _read_state(tmp_path / "a") == before

    # The rebuilt state keeps counting where the old one stopped.
    proc.start()
    more = Feeder(kafka_bootstrap, topics.input, total=100, rate=1000, keys=5)
    more.start(first=500)
    more.join(30)
    outputs = Outputs.read(kafka_bootstrap, topics.output, 600, timeout=60)
    proc.stop()
    outputs.assert_exactly_once(feeder.sent + more.sent)


@pytest.mark.timeout(180)
def test_survivor_takes_over_a_killed_processors_partitions(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    topics, app_id = Topics.fresh(kafka_bootstrap, "eos")
    a = CounterProcess(kafka_bootstrap, topics, app_id, "a", tmp_path / "a", tmp_path / "a.log")
    b = CounterProcess(kafka_bootstrap, topics, app_id, "b", tmp_path / "b", tmp_path / "b.log")
    feeder = Feeder(kafka_bootstrap, topics.input, total=2400, rate=200, keys=8)
    a.start()
    b.start()
    try:
        wait_for(lambda: bool(a.owned()) and bool(b.owned()), 60, "both to own partitions")
        feeder.start()
        time.sleep(3)
        a.kill()
        handover = wait_for(lambda: b.owned() == list(range(PARTITIONS)), 60, "hand-over")
        print(f"\nhand-over took {handover:.2f}s after SIGKILL")
        feeder.join(60)
        outputs = Outputs.read(kafka_bootstrap, topics.output, 2400, timeout=90)
    finally:
        a.kill()
        b.stop()
    outputs.assert_exactly_once(feeder.sent)


@pytest.mark.timeout(180)
def test_frozen_zombie_cannot_commit_after_it_lost_its_partitions(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    topics, app_id = Topics.fresh(kafka_bootstrap, "eos")
    # A long transaction keeps the zombie's transaction open, with inputs, when it is frozen.
    zombie = CounterProcess(
        kafka_bootstrap, topics, app_id, "z", tmp_path / "z", tmp_path / "z.log",
        max_batch_ms=3000, hold_transactions=True,
    )  # fmt: skip
    b = CounterProcess(kafka_bootstrap, topics, app_id, "b", tmp_path / "b", tmp_path / "b.log")
    feeder = Feeder(kafka_bootstrap, topics.input, total=3000, rate=200, keys=8)
    zombie.start()
    b.start()
    try:
        wait_for(lambda: bool(zombie.owned()) and bool(b.owned()), 60, "both to own partitions")
        feeder.start()
        time.sleep(2.5)
        zombie.signal(signal.SIGSTOP)
        wait_for(lambda: b.owned() == list(range(PARTITIONS)), 60, "b to take over")
        time.sleep(1)
        zombie.signal(signal.SIGCONT)
        wait_for(lambda: "aborting transaction" in zombie.log_text(), 30, "the zombie's abort")
        feeder.join(60)
        outputs = Outputs.read(kafka_bootstrap, topics.output, 3000, timeout=90)
    finally:
        zombie.stop()
        b.stop()
    outputs.assert_exactly_once(feeder.sent)
    # The zombie's aborted transaction was acknowledged to nobody.
    outputs.assert_acknowledged_only_once_committed(
        Outputs.read(kafka_bootstrap, topics.acks, 0, timeout=30)
    )


@pytest.mark.timeout(180)
def test_inputs_that_produce_nothing_commit_without_a_transaction_each(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    topics, app_id = Topics.fresh(kafka_bootstrap, "eos")
    proc = CounterProcess(kafka_bootstrap, topics, app_id, "a", tmp_path / "a", tmp_path / "a.log")
    # Every third input only reads; a SIGKILL in the middle loses and repeats nothing.
    mixed = Feeder(kafka_bootstrap, topics.input, total=900, rate=300, keys=5, peek_every=3)
    proc.start()
    mixed.start()
    try:
        time.sleep(1.5)
        proc.kill()
        proc.start()
        mixed.join(30)
        outputs = Outputs.read(kafka_bootstrap, topics.output, sum(mixed.sent.values()), 60)
        outputs.assert_exactly_once(mixed.sent)
        proc.stop()

        # Only reads, 20 a second for 3 s: their positions are committed about once a
        # second (offsets_commit_interval_ms), not in a transaction of their own each.
        proc.start()
        peeks = Feeder(kafka_bootstrap, topics.input, total=60, rate=20, keys=5, peek_every=1)
        peeks.start(first=900)
        peeks.join(30)
        wait_for(
            lambda: uncommitted_inputs(kafka_bootstrap, app_id, topics.input) == 0,
            15,
            "the read-only inputs' positions to be committed",
        )
    finally:
        proc.stop()
    stats = proc.stats()
    assert stats["records"] == 60
    assert 1 <= stats["commits"] <= 8, stats


@pytest.mark.timeout(180)
def test_a_poison_input_is_rejected_alone_and_the_partition_moves_on(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    topics, app_id = Topics.fresh(kafka_bootstrap, "eos")
    proc = CounterProcess(kafka_bootstrap, topics, app_id, "a", tmp_path / "a", tmp_path / "a.log")
    # A burst, so that poison inputs share transactions with good ones.
    feeder = Feeder(kafka_bootstrap, topics.input, total=600, rate=2000, keys=5, poison_every=7)
    proc.start()
    try:
        feeder.start()
        feeder.join(60)
        expected = sum(feeder.sent.values()) + len(feeder.poisoned)
        outputs = Outputs.read(kafka_bootstrap, topics.output, expected, timeout=90)
        assert proc.proc is not None and proc.proc.poll() is None, "the processor stopped"
    finally:
        proc.stop()
    rejected = sorted(i for _, i, _ in outputs.records if i.startswith("rejected-"))
    assert rejected == sorted(f"rejected-{p}" for p in feeder.poisoned)
    counted = Outputs(
        [r for r in outputs.records if not r[1].startswith("rejected-")],
        [v for v in outputs.values if not v.startswith("rejected-")],
    )
    # Counts stay 1..n per key: the poison inputs' emitted counts were rolled back.
    counted.assert_exactly_once(feeder.sent)
    assert proc.stats()["commits"] < expected, "the burst was not batched into transactions"
