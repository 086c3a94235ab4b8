"""Direct inputs (`streams.direct`) on the real broker: spilled when not owned or aborted,
never committed by a zombie, and counted exactly once beside the inputs read from the topic."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from tests.integration.streams.harness import (
    PARTITIONS,
    CounterProcess,
    DirectFeeder,
    Feeder,
    Outputs,
    Topics,
    wait_for,
)

pytestmark = pytest.mark.kafka


@pytest.mark.timeout(240)
def test_direct_inputs_count_exactly_once_across_spills_and_a_frozen_zombie(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    topics, app_id = Topics.fresh(kafka_bootstrap, "direct")
    # A long transaction keeps the zombie's transaction open, with direct inputs, when it is
    # frozen; only its group generation can stop it from committing them.
    zombie = CounterProcess(
        kafka_bootstrap, topics, app_id, "z", tmp_path / "z", tmp_path / "z.log",
        max_batch_ms=3000, hold_transactions=True, direct_host="127.0.0.1",
    )  # fmt: skip
    b = CounterProcess(
        kafka_bootstrap, topics, app_id, "b", tmp_path / "b", tmp_path / "b.log",
        direct_host="127.0.0.1",
    )  # fmt: skip
    zombie.start()
    b.start()
    direct: DirectFeeder | None = None
    try:
        wait_for(lambda: bool(zombie.owned()) and bool(b.owned()), 60, "both to own partitions")
        address = zombie.direct_address()
        assert address is not None
        assert len(zombie.owned() or []) < PARTITIONS  # some of what it gets is not its own
        # Every direct input goes to the zombie, whether it owns the partition or not.
        direct = DirectFeeder(address, total=900, rate=100)
        feeder = Feeder(kafka_bootstrap, topics.input, total=2000, rate=200, keys=8)
        direct.start()
        feeder.start()
        # The zombie commits its first transaction (after 3 s) with the direct inputs of its
        # partitions, and is frozen with the next one open.
        time.sleep(4.5)
        zombie.signal(signal.SIGSTOP)
        wait_for(lambda: b.owned() == list(range(PARTITIONS)), 60, "b to take over")
        time.sleep(1)
        zombie.signal(signal.SIGCONT)
        wait_for(lambda: "aborting transaction" in zombie.log_text(), 30, "the zombie's abort")
        direct.join(60)
        feeder.join(60)
        sent = feeder.sent + direct.sent
        outputs = Outputs.read(kafka_bootstrap, topics.output, sum(sent.values()), timeout=90)
        acks = Outputs.read(kafka_bootstrap, topics.acks, 0, timeout=30)
    finally:
        if direct is not None:
            direct.close()
        zombie.stop()
        b.stop()
    outputs.assert_exactly_once(sent)
    outputs.assert_acknowledged_only_once_committed(acks)
    # Both ways were taken: direct inputs committed where they came, and spilled ones (b
    # never got a direct input: it counted those from the topic).
    direct_outputs = [v for v in outputs.values if v.startswith("direct")]
    assert {v.rsplit(":", 1)[1] for v in direct_outputs} == {"z", "b"}
