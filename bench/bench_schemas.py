"""Micro-benchmark of schemas.encode/decode on a typical TaskRecord; prints ops/s."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import schemas
from schemas._codec import Codec
from schemas.samples import sample_for

TASK: dict[str, Any] = {
    "task_kind": "workflow",
    "namespace": "default",
    "task_queue": "orders",
    "task_queue_kind": "normal",
    "task_queue_partition": 2,
    "workflow_id": "order-4711",
    "run_id": "0190a7b2-5f1c-7d3e-9a8b-123456789abc",
    "scheduled_event_id": 2,
    "attempt": 1,
    "task_token": bytes(range(96)),
    "schedule_time_ms": 1764000000456,
    "schedule_to_start_timeout_ms": 0,
    "payload": b"",
}


def _rate(fn: Callable[[], object], seconds: float) -> float:
    """Best ops/s over rounds of a fixed count, so a noisy neighbour skews it less."""
    n = 2000
    best = 0.0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        start = time.perf_counter()
        for _ in range(n):
            fn()
        best = max(best, n / (time.perf_counter() - start))
    return best


def main() -> None:
    """Prints encode, decode and round-trip rates."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=1.0, help="time per case")
    seconds = parser.parse_args().seconds
    data = schemas.encode(schemas.TASK_RECORD, TASK)
    old = schemas.REGISTRY.versions_of(schemas.VISIBILITY_RECORD)[0]
    old_data = Codec.encode_version(old, sample_for(old))
    cases: dict[str, Callable[[], object]] = {
        "encode TaskRecord": lambda: schemas.encode(schemas.TASK_RECORD, TASK),
        "decode TaskRecord": lambda: schemas.decode(data, schemas.TASK_RECORD),
        "encode+decode TaskRecord": lambda: schemas.decode(
            schemas.encode(schemas.TASK_RECORD, TASK), schemas.TASK_RECORD
        ),
        "decode VisibilityRecord v1 -> v2": lambda: schemas.decode(old_data),
    }
    print(f"TaskRecord: {len(data)} bytes")
    for name, fn in cases.items():
        print(f"{name:34s} {_rate(fn, seconds):>10,.0f} ops/s")


if __name__ == "__main__":
    main()
