"""The produce-rate limit of the processing loop (Temporal's persistence QPS)."""

from __future__ import annotations

from streams.throttle import ProduceThrottle


def test_unlimited_never_waits() -> None:
    throttle = ProduceThrottle(0, now=0.0)

    assert not throttle.enabled
    assert throttle.charge(1_000_000, now=0.0) == 0.0


def test_a_second_of_records_goes_at_once_then_the_debt_is_waited_out() -> None:
    throttle = ProduceThrottle(100, now=0.0)

    assert throttle.charge(100, now=0.0) == 0.0
    assert throttle.charge(50, now=0.0) == 0.5  # 50 records over: half a second
    assert throttle.charge(10, now=0.5) == 0.1  # the debt was paid at 0.5 s
    assert throttle.charge(0, now=0.5) == 0.0


def test_idle_time_refills_to_one_second_only() -> None:
    throttle = ProduceThrottle(10, now=0.0)
    throttle.charge(10, now=0.0)

    assert throttle.charge(10, now=100.0) == 0.0
    assert throttle.charge(5, now=100.0) == 0.5


def test_allowance_takes_no_more_inputs_than_the_bucket_holds() -> None:
    from streams.throttle import ProduceThrottle

    throttle = ProduceThrottle(50.0, now=0.0)
    assert throttle.allowance(500, now=0.0) == 50  # a full bucket: one second of records
    throttle.charge(60, now=0.0)  # in debt
    assert throttle.allowance(500, now=0.0) == 1  # still one at a time, never zero
    assert throttle.allowance(500, now=1.0) == 40  # refilled 50, minus the debt of 10
    assert ProduceThrottle(0.0, now=0.0).allowance(500, now=0.0) == 500  # no limit
