"""ListScheduleMatchingTimes answers recorded from the Temporal dev server, computed again here.

The JSON was recorded with ``temporal server start-dev`` (server 1.32): each entry is a spec in
the API's JSON form, a time range, and the times the dev server listed for it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format
from temporalio.api.schedule.v1 import ScheduleSpec

from schemas.schedules.spec import CompiledSpec, canonicalize

GOLDEN: dict[str, Any] = json.loads(
    (Path(__file__).parent / "matching_times_devserver.json").read_text()
)


def _instant(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_matching_times_equal_the_dev_servers(name: str) -> None:
    case = GOLDEN[name]
    spec = json_format.ParseDict(case["spec"], ScheduleSpec())
    compiled = CompiledSpec(canonicalize(spec))
    got = compiled.times(_instant(case["start"]), _instant(case["end"]))
    assert [t.actual.strftime("%Y-%m-%dT%H:%M:%SZ") for t in got] == case["times"]
