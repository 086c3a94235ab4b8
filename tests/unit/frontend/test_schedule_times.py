"""Schedule RPCs refuse times outside protobuf's Timestamp range with INVALID_ARGUMENT."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from temporalio.api.schedule.v1 import BackfillRequest, SchedulePatch, TriggerImmediatelyRequest
from temporalio.api.workflowservice.v1 import (
    ListScheduleMatchingTimesRequest,
    PatchScheduleRequest,
)

from frontend.errors import ServiceError
from frontend.schedules import require_valid_times


def test_times_in_range_pass() -> None:
    require_valid_times(
        ListScheduleMatchingTimesRequest(
            start_time=Timestamp(seconds=-62_135_596_800),  # 0001-01-01
            end_time=Timestamp(seconds=253_402_300_799, nanos=999_999_999),  # 9999-12-31
        )
    )


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (ListScheduleMatchingTimesRequest(end_time=Timestamp(seconds=-(2**63))), "end_time"),
        (
            PatchScheduleRequest(
                patch=SchedulePatch(
                    trigger_immediately=TriggerImmediatelyRequest(
                        scheduled_time=Timestamp(seconds=253_402_300_800)
                    )
                )
            ),
            "patch.trigger_immediately.scheduled_time",
        ),
        (
            PatchScheduleRequest(
                patch=SchedulePatch(
                    backfill_request=[
                        BackfillRequest(start_time=Timestamp(seconds=1, nanos=-1)),
                    ]
                )
            ),
            "patch.backfill_request.start_time",
        ),
    ],
)
def test_a_time_out_of_range_is_invalid_argument_naming_the_field(
    request_: object, field: str
) -> None:
    with pytest.raises(ServiceError) as raised:
        require_valid_times(request_)  # type: ignore[arg-type]
    assert raised.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert str(raised.value.message).startswith(f"{field} is out of range")
