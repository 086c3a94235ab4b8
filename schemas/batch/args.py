"""The batch workflow's input and the progress its activity heartbeats (Temporal's shapes).

The request travels as base64 of its binary form, so the SDK's JSON converter carries it
unchanged; the progress keeps Temporal's field names, which Describe reads.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class BatchArgs:
    """What a batch job needs.

    Attributes:
        namespace: Namespace of the job and of its targets.
        namespace_id: Id of that namespace when the job started (a renamed one is refused).
        request: temporal.api.workflowservice.v1.StartBatchOperationRequest, base64.
        operation: The request's operation field, e.g. ``termination_operation``.
        rps: Operations per second.
    """

    namespace: str
    namespace_id: str
    request: str
    operation: str
    rps: float


@dataclass
class Progress:
    """Temporal's HeartBeatDetails: where a job is and how it went so far.

    Attributes:
        PageToken: base64 of the next visibility page token to read.
        CurrentPage: Pages fully done.
        TotalEstimate: Executions the job expects to touch (the count when it started).
        SuccessCount: Executions done (a vanished one counts as done, as on Temporal).
        ErrorCount: Executions that failed every attempt.
        PageSuccess: Strom's: the part of SuccessCount from the page under way, which a
            resumed job does again.
        PageError: The same for ErrorCount.
    """

    PageToken: str = ""
    CurrentPage: int = 0
    TotalEstimate: int = 0
    SuccessCount: int = 0
    ErrorCount: int = 0
    PageSuccess: int = 0
    PageError: int = 0
