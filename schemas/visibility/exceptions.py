"""Errors of the visibility read side, each carrying the gRPC status the frontend answers with."""

from __future__ import annotations

from typing import ClassVar

import grpc


class VisibilityError(Exception):
    """Base of the errors below; ``code`` is the gRPC status for the client."""

    code: ClassVar[grpc.StatusCode] = grpc.StatusCode.INTERNAL


class InvalidQueryError(VisibilityError):
    """A bad list filter or page token; the message is Temporal's."""

    code = grpc.StatusCode.INVALID_ARGUMENT


class VisibilityUnavailableError(VisibilityError):
    """Elasticsearch is unreachable or failed; the client may retry."""

    code = grpc.StatusCode.UNAVAILABLE


class VisibilityOverloadedError(VisibilityError):
    """Elasticsearch rejected the request for load (HTTP 429)."""

    code = grpc.StatusCode.RESOURCE_EXHAUSTED
