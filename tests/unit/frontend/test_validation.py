"""Validation helpers beyond the recorded bad requests: normalization and edge values."""

from __future__ import annotations

import pytest
from google.protobuf.duration_pb2 import Duration
from temporalio.api.common.v1 import RetryPolicy
from temporalio.api.failure.v1 import ApplicationFailureInfo, Failure
from temporalio.api.workflowservice.v1 import StartWorkflowExecutionRequest

from frontend import validation
from frontend.errors import ServiceError


def test_durations() -> None:
    assert validation.duration_error(Duration(seconds=0, nanos=-1)) == "negative duration"
    assert validation.duration_error(Duration(seconds=5)) is None
    huge = Duration(seconds=10**11)
    assert validation.duration_error(huge) is None
    assert huge.seconds == 100 * 365 * 24 * 3600  # capped like Temporal


def test_retry_policy_defaults() -> None:
    policy = RetryPolicy(initial_interval=Duration(nanos=500_000_000))

    validation.validate_retry_policy(policy)

    assert policy.maximum_interval == Duration(seconds=50)
    assert policy.backoff_coefficient == 2.0
    assert policy.maximum_attempts == 0


def test_an_extreme_initial_interval_is_refused_or_capped_not_an_overflow() -> None:
    # Found by the fuzz test: the default maximum (100 x initial) overflowed Duration.
    negative = RetryPolicy(initial_interval=Duration(seconds=-(2**62)))
    with pytest.raises(ServiceError, match="invalid InitialInterval set on retry policy"):
        validation.validate_retry_policy(negative)
    huge = RetryPolicy(initial_interval=Duration(seconds=2**62))
    validation.validate_retry_policy(huge)
    assert huge.initial_interval.seconds == huge.maximum_interval.seconds == 100 * 365 * 86400


def test_single_attempt_policy_skips_checks() -> None:
    validation.validate_retry_policy(RetryPolicy(maximum_attempts=1, backoff_coefficient=0.1))
    with pytest.raises(ServiceError, match="BackoffCoefficient"):
        validation.validate_retry_policy(RetryPolicy(maximum_attempts=2, backoff_coefficient=0.1))


@pytest.mark.parametrize(
    "name", ["TemporalTimeout:TIMEOUT_TYPE_START_TO_CLOSE", "TemporalTimeout:Heartbeat"]
)
def test_known_timeout_types_are_accepted(name: str) -> None:
    policy = RetryPolicy(non_retryable_error_types=[name])
    validation.validate_retry_policy(policy)
    assert list(policy.non_retryable_error_types) == [name]
    with pytest.raises(ServiceError, match="Invalid timeout type value"):
        validation.validate_retry_policy(
            RetryPolicy(non_retryable_error_types=[name.replace(":", ":X")])
        )


@pytest.mark.parametrize("value", ["Unspecified", "START_TO_CLOSE"])
def test_other_timeout_type_spellings_are_rejected(value: str) -> None:
    # Both answers observed on Temporal's dev server.
    with pytest.raises(ServiceError, match=rf"^Invalid timeout type value: {value}\.$"):
        validation.validate_retry_policy(
            RetryPolicy(non_retryable_error_types=[f"TemporalTimeout:{value}"])
        )


def test_request_id_is_generated_once() -> None:
    request = StartWorkflowExecutionRequest()
    validation.ensure_request_id(request, 1000)
    first = request.request_id
    validation.ensure_request_id(request, 1000)

    assert validation.is_uuid(first)
    assert request.request_id == first


def test_lengths_count_utf8_bytes() -> None:
    validation.validate_workflow_id("é" * 500, 1000)
    with pytest.raises(ServiceError, match=r"\(1002/1000\)"):
        validation.validate_workflow_id("é" * 501, 1000)


def test_next_retry_delay_in_a_cause_is_checked() -> None:
    bad = Failure(
        application_failure_info=ApplicationFailureInfo(),
        cause=Failure(
            application_failure_info=ApplicationFailureInfo(
                next_retry_delay=Duration(seconds=1, nanos=-5)
            )
        ),
    )

    with pytest.raises(ServiceError, match="NextRetryDelay is not a valid duration"):
        validation.validate_next_retry_delays(bad)
