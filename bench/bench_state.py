"""Micro-benchmark of a history shard's per-command state work: copy, encode, decode.

Every command a shard decides copies the run's mutable state (the decider must not touch its
input), folds the batch into the copy and encodes the result for RocksDB; a cache miss decodes
it. This prints those rates for the state of a workflow with N pending activities, with the
generic `copy.deepcopy` beside `ExecutionState.copy` for comparison.

Usage: python bench/bench_state.py [--activities 20] [--seconds 1]
"""

from __future__ import annotations

import argparse
import copy
import sys
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench_schemas import _rate  # noqa: E402

from history_processor.state import ExecutionState  # noqa: E402
from tests.unit.history.harness import Glue, first_task, schedule_activity  # noqa: E402


def state_with_activities(count: int) -> ExecutionState:
    """The state after a workflow task scheduled `count` activities."""
    glue = Glue()
    poll = first_task(glue)
    glue.complete_workflow_task(poll, *[schedule_activity(f"a{i}") for i in range(count)])
    assert glue.state is not None
    return glue.state


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--activities", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=1.0, help="time per case")
    args = parser.parse_args()
    state = state_with_activities(args.activities)
    raw = state.to_bytes()
    cases: dict[str, Callable[[], object]] = {
        "copy.deepcopy(state)": lambda: copy.deepcopy(state),
        "state.copy()": state.copy,
        "state.to_bytes()": state.to_bytes,
        "ExecutionState.from_bytes()": lambda: ExecutionState.from_bytes(raw),
    }
    print(f"state of a run with {args.activities} pending activities: {len(raw):,} bytes")
    for name, fn in cases.items():
        print(f"{name:30s} {_rate(fn, args.seconds):>10,.0f} ops/s")


if __name__ == "__main__":
    main()
