"""The produce-rate limit of streams/ on the real broker: input waits, nothing is lost."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.streams.harness import CounterProcess, Feeder, Outputs, Topics

pytestmark = pytest.mark.kafka


@pytest.mark.timeout(180)
def test_produce_rate_limit_spreads_commits_and_keeps_exactly_once(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    topics, name = Topics.fresh(kafka_bootstrap, "throttle")
    proc = CounterProcess(
        kafka_bootstrap, topics, name, "a", tmp_path / "a", tmp_path / "a.log",
        max_produce_rate=50.0,
    )  # fmt: skip
    # 150 inputs at once; each commits two records (changelog + output): 300 records at
    # 50 a second, one second of them as a burst, take at least 5 s to go out.
    feeder = Feeder(kafka_bootstrap, topics.input, total=150, rate=1000, keys=5)
    proc.start()
    feeder.start()
    try:
        feeder.join(30)
        outputs = Outputs.read(kafka_bootstrap, topics.output, 150, timeout=90)
    finally:
        proc.stop()

    outputs.assert_exactly_once(feeder.sent)
    span = max(outputs.times) - min(outputs.times)
    assert span >= 3.0, f"300 records at 50/s went out within {span:.2f} s"
