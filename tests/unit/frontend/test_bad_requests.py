"""Malformed requests get the exact status the real Temporal server answers."""

from __future__ import annotations

import pytest

from tests.unit.frontend.bad_requests import BAD_REQUESTS, BadRequest
from tests.unit.frontend.conftest import Frontend
from tests.unit.frontend.helpers import failure


@pytest.mark.parametrize("case", BAD_REQUESTS, ids=lambda case: case.name)
async def test_bad_request_gets_temporals_status(frontend: Frontend, case: BadRequest) -> None:
    request = type(case.request)()
    request.CopyFrom(case.request)

    status = await failure(frontend.stub, case.rpc, request, timeout=case.timeout)

    assert (status.code.name, status.message, status.detail_type) == (
        case.code,
        case.message,
        case.detail,
    )
    assert status.details is None or status.details.message == case.message
    assert frontend.history.sent == []
    assert frontend.matching.polls == []
