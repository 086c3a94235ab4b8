"""Golden encodings of a fixed sample per schema version: checked by default, rewritten on --write.

Usage::

    python -m schemas.golden            # exit 1 if a golden file is missing, stale or orphaned
    python -m schemas.golden --write    # regenerate tests/golden/schemas/*.bin (frozen kept)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from schemas import (
    EVENT_BATCH,
    INBOX_COMMAND,
    NAMESPACE,
    REGISTRY,
    REPLY,
    TASK_RECORD,
    VISIBILITY_RECORD,
    Codec,
)
from schemas._registry import Registry, SchemaVersion

GOLDEN_DIR = Path(__file__).resolve().parent.parent / "tests" / "golden" / "schemas"
"""Where the golden files live in the source tree."""

_RUN_ID = "0190a7b2-5f1c-7d3e-9a8b-123456789abc"

# Fixed literal bytes stand in for protobuf payloads: protobuf does not promise byte-stable
# serialization across versions, and goldens must only change when a schema does.
SAMPLES: dict[str, dict[str, Any]] = {
    INBOX_COMMAND: {
        "command_id": "cmd-7f3a",
        "namespace": "default",
        "workflow_id": "order-42",
        "kind": "StartWorkflowExecution",
        "payload": b"\x0a\x07default\x12\x08order-42",
        "reply_to": {"topic": "strom.replies.frontend-0", "partition": 3},
        "request_time_ms": 1764000000123,
    },
    EVENT_BATCH: {
        "namespace": "default",
        "workflow_id": "order-42",
        "run_id": _RUN_ID,
        "first_event_id": 1,
        "last_event_id": 2,
        "events": b"\x0a\x04\x08\x01\x18\x01\x0a\x04\x08\x02\x18\x05",
        "updates": [{"kind": "ActivityAttemptStarted", "payload": b"\x08\x05\x10\x01"}],
        "command_id": "cmd-7f3a",
    },
    TASK_RECORD: {
        "task_kind": "workflow",
        "namespace": "default",
        "task_queue": "orders",
        "task_queue_kind": "normal",
        "task_queue_partition": 2,
        "workflow_id": "order-42",
        "run_id": _RUN_ID,
        "scheduled_event_id": 2,
        "attempt": 1,
        "task_token": bytes(range(48)),
        "schedule_time_ms": 1764000000456,
        "schedule_to_start_timeout_ms": 0,
        "payload": b"",
    },
    VISIBILITY_RECORD: {
        "namespace": "default",
        "namespace_id": "5b4d6c2e-0000-4000-8000-000000000001",
        "workflow_id": "order-42",
        "run_id": _RUN_ID,
        "workflow_type": "OrderWorkflow",
        "task_queue": "orders",
        "status": "Completed",
        "start_time_ms": 1764000000123,
        "execution_time_ms": 1764000000123,
        "close_time_ms": 1764000001123,
        "execution_duration_ms": 1000,
        "history_length": 11,
        "version": 7,
        "memo": b"\x0a\x05\x0a\x03k\x12\x00",
        "search_attributes": b"\x0a\x0b\x0a\x09CustomKey\x12\x00",
        "deleted": False,
    },
    REPLY: {
        "command_id": "cmd-7f3a",
        "status_code": 6,
        "message": "Workflow execution already started: größe ✓",
        "payload": b"",
        "details": b"\x0a\x08cmd-7f3a\x12\x24" + _RUN_ID.encode(),
        "details_type": "temporal.api.errordetails.v1.WorkflowExecutionAlreadyStartedFailure",
    },
    NAMESPACE: {
        "name": "default",
        "id": "5b4d6c2e-0000-4000-8000-000000000001",
        "state": "Registered",
        "description": "the default namespace",
        "owner_email": "ops@example.com",
        "retention_ms": 259200000,
        "data": {"team": "payments", "tier": "gold"},
        "version": 3,
    },
}
"""One fixed value per record, holding every field of every version with a non-default value."""


def sample_for(version: SchemaVersion) -> dict[str, Any]:
    """The sample of a record, cut down to the fields of one schema version."""
    names = set(version.field_names)
    return {k: v for k, v in SAMPLES[version.record_name].items() if k in names}


def golden_name(version: SchemaVersion) -> str:
    """File name of a version's golden bytes: the .avsc file's name with .bin."""
    return version.path.stem + ".bin"


def expected(registry: Registry = REGISTRY) -> dict[str, bytes]:
    """Golden file name to the bytes the encoder writes today, for every version."""
    return {
        golden_name(v): Codec.encode_version(v, sample_for(v)) for v in registry.by_header.values()
    }


def differences(directory: Path = GOLDEN_DIR, registry: Registry = REGISTRY) -> list[str]:
    """Golden files that are missing, stale or orphaned; empty when all match."""
    want = expected(registry)
    problems = []
    for name, data in sorted(want.items()):
        path = directory / name
        if not path.exists():
            problems.append(f"missing: {path}")
        elif path.read_bytes() != data:
            problems.append(f"differs: {path}")
    problems += [f"orphan: {p}" for p in sorted(directory.glob("*.bin")) if p.name not in want]
    return problems


def write(directory: Path = GOLDEN_DIR, registry: Registry = REGISTRY) -> list[Path]:
    """Writes the golden files of current versions, and of frozen versions that have none.

    A frozen version's existing golden file is never rewritten: if it differs, its .avsc file
    was edited, which ``differences`` reports and only undoing the edit fixes.

    Returns:
        The files written.
    """
    directory.mkdir(parents=True, exist_ok=True)
    frozen = {golden_name(v) for v in registry.by_header.values() if not v.is_current}
    written = []
    for name, data in sorted(expected(registry).items()):
        path = directory / name
        if name in frozen and path.exists():
            continue
        path.write_bytes(data)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    """Checks the golden files, after rewriting them on --write; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m schemas.golden", description=__doc__)
    parser.add_argument("--write", action="store_true", help="regenerate the golden files")
    parser.add_argument("--dir", type=Path, default=GOLDEN_DIR, help="golden directory")
    args = parser.parse_args(argv)
    if args.write:
        for path in write(args.dir):
            print(f"wrote {path}")
    problems = differences(args.dir)
    for problem in problems:
        print(problem)
    if problems and not args.write:
        print("run `python -m schemas.golden --write` if the schema change is intended")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
