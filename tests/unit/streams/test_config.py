"""Consumer settings derived from StreamsConfig: eager range assignment unless asked otherwise."""

from __future__ import annotations

from pathlib import Path

from streams.config import StreamsConfig


def _config(**extra: object) -> StreamsConfig:
    return StreamsConfig(
        bootstrap="127.0.0.1:9092",
        app_id="app",
        instance_id="0",
        input_topics=("in",),
        changelog_topic="changelog",
        state_dir=Path("/nonexistent"),
        extra_consumer=dict(extra),
    )


def test_range_assignment_is_the_default() -> None:
    config = _config()
    assert config.consumer_settings()["partition.assignment.strategy"] == "range"
    assert not config.incremental_rebalance


def test_cooperative_assignment_is_an_opt_in() -> None:
    config = _config(**{"partition.assignment.strategy": "cooperative-sticky"})
    assert config.incremental_rebalance


def test_members_heartbeat_often_enough_to_join_a_rebalance_within_a_third_of_a_second() -> None:
    settings = _config().consumer_settings()
    assert settings["heartbeat.interval.ms"] <= 300 < settings["session.timeout.ms"]
