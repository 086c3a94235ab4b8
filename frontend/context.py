"""What every RPC handler gets: the process environment, the call, and shared steps."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Collection
from dataclasses import dataclass, field
from typing import Any, TypeVar

import grpc
from google.protobuf.message import Message

from frontend import errors
from frontend.backends import HistoryCaller, MatchingBackend, NamespaceRegistry, VisibilityBackend
from frontend.config import FrontendConfig
from frontend.errors import ServiceError, invalid_argument
from frontend.ratelimit import TokenBucket
from frontend.tokens import MalformedTaskTokenError, TaskTokenRef, TokenDecoder, decode_task_token
from schemas.clusters import ClusterStore, InMemoryClusterStore
from schemas.namespaces import Namespace, State

ResponseT = TypeVar("ResponseT", bound=Message)
T = TypeVar("T")

ACTIVE_STATES: Collection[State] = (State.REGISTERED, State.DEPRECATED)
"""States in which a namespace serves requests (Temporal's default allowed states)."""
REGISTERED_ONLY: Collection[State] = (State.REGISTERED,)
"""States in which a namespace accepts new executions."""


_log = logging.getLogger(__name__)


@dataclass
class Env:
    """The frontend's dependencies, shared by all calls.

    Attributes:
        config: Settings.
        history: Commands to history processes.
        matching: Task long-polls.
        visibility: List and count queries.
        namespaces: Namespace lookups.
        clusters: The remote clusters (``schemas.clusters``).
        decode_token: Reads the routing fields of a task token.
        stopping: Set when the server shuts down; long-polls then answer empty at once.
        produce_limit: Commands per second this frontend may put on the history inbox.
    """

    config: FrontendConfig
    history: HistoryCaller
    matching: MatchingBackend
    visibility: VisibilityBackend
    namespaces: NamespaceRegistry
    decode_token: TokenDecoder = decode_task_token
    clusters: ClusterStore = field(default_factory=InMemoryClusterStore)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    produce_limit: TokenBucket | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        # The produce-rate limit (Temporal's persistence QPS) of this process's inbox writes;
        # one second of commands may go out at once.
        rate = self.config.persistence_max_qps
        if rate > 0:
            self.produce_limit = TokenBucket(rate, max(1.0, rate), time.monotonic())


@dataclass(frozen=True)
class Call:
    """One incoming call.

    Attributes:
        method: RPC name, e.g. "StartWorkflowExecution".
        deadline: The client's deadline as a ``time.monotonic()`` instant; None when unset.
        headers: Response headers (initial metadata) a handler adds to a successful answer.
    """

    method: str
    deadline: float | None
    headers: list[tuple[str, str]] = field(default_factory=list)

    def remaining(self) -> float | None:
        """Seconds left until the client's deadline, None when unset."""
        return None if self.deadline is None else self.deadline - time.monotonic()

    def bound(self, limit: float) -> float:
        """``limit`` seconds, cut to what is left of the client's deadline.

        Raises:
            ServiceError: DEADLINE_EXCEEDED when the client's deadline has passed.
        """
        remaining = self.remaining()
        if remaining is None:
            return limit
        if remaining <= 0:
            raise ServiceError(grpc.StatusCode.DEADLINE_EXCEEDED, "context deadline exceeded")
        return min(limit, remaining)


def require_namespace(env: Env, name: str, allowed: Collection[State] = ACTIVE_STATES) -> Namespace:
    """The namespace a request names; it must exist and be in an allowed state."""
    if len(name.encode()) > env.config.max_id_length:
        raise invalid_argument("Namespace length exceeds limit.")
    if not name:
        raise invalid_argument("Namespace is empty.")
    namespace = env.namespaces.get(name)
    if namespace is None:
        raise errors.namespace_not_found(name)
    _check_state(namespace, allowed)
    return namespace


def _check_state(namespace: Namespace, allowed: Collection[State]) -> None:
    if namespace.state not in allowed:
        raise errors.namespace_invalid_state(
            namespace.name, namespace.state.proto, [s.proto for s in allowed]
        )


def resolve_task_token(env: Env, request: Any) -> tuple[Namespace, TaskTokenRef]:
    """The namespace and routing fields of a request carrying ``task_token``.

    Mirrors Temporal's order: a named but unknown namespace first, then a missing or
    undecodable token, then the token's namespace, which must match a named one. An empty
    ``request.namespace`` is filled from the token, as Temporal does before forwarding.
    """
    named: Namespace | None = None
    if request.namespace:
        named = require_namespace(env, request.namespace)
    raw: bytes = request.task_token
    if not raw:
        raise invalid_argument("Task token not set on request.")
    try:
        token = env.decode_token(raw)
    except MalformedTaskTokenError:
        raise invalid_argument("Error deserializing task token.") from None
    if not token.namespace_id:
        raise invalid_argument("Namespace not set on request.")
    namespace = env.namespaces.get_by_id(token.namespace_id)
    if namespace is None:
        raise errors.namespace_not_found(token.namespace_id)
    if named is not None and named.id != namespace.id:
        raise invalid_argument("Operation requested with a token from a different namespace.")
    _check_state(namespace, ACTIVE_STATES)
    request.namespace = namespace.name
    return namespace, token


def take_produce_slot(env: Env) -> None:
    """Counts one command put on the history inbox against the frontend's produce-rate limit.

    Raises:
        ServiceError: RESOURCE_EXHAUSTED (PERSISTENCE_LIMIT, scope SYSTEM) over the limit.
    """
    if env.produce_limit is not None and not env.produce_limit.try_take(time.monotonic()):
        raise errors.persistence_rate_limited()


async def call_history(
    env: Env,
    call: Call,
    namespace: str,
    workflow_id: str,
    request: Message,
    response_type: type[ResponseT],
    kind: str | None = None,
    attempt_s: float | None = None,
) -> ResponseT:
    """Forwards a request to the history process of its workflow and decodes the answer.

    Args:
        env: Environment.
        call: The call being served; its deadline bounds the wait.
        namespace: Namespace name.
        workflow_id: Workflow id.
        request: Temporal request proto.
        response_type: Temporal response class the reply payload holds.
        kind: Inbox kind; defaults to the RPC name.
        attempt_s: For a read only (sending it twice is harmless): send it again when it
            has had no answer for this long, until the whole wait is over. A read parked in
            a history process that died is never answered.

    Raises:
        ServiceError: The history answered an error, or did not answer in time.
    """
    timeout = call.bound(env.config.history_timeout_s)
    deadline = time.monotonic() + timeout
    take_produce_slot(env)
    while True:
        left = deadline - time.monotonic()
        try:
            reply = await env.history.call(
                namespace, workflow_id, kind or call.method, request, min(left, attempt_s or left)
            )
            break
        except TimeoutError:
            if attempt_s is not None and deadline - time.monotonic() > 0:
                _log.info("%s for %s/%s: sent again", kind or call.method, namespace, workflow_id)
                continue
            _log.warning(
                "%s for %s/%s: no answer from history within %.1fs",
                kind or call.method,
                namespace,
                workflow_id,
                timeout,
            )
            raise errors.unavailable("history service did not answer in time") from None
    if reply.status_code != 0:
        raise errors.from_reply(reply.status_code, reply.message, reply.details, reply.details_type)
    return response_type.FromString(reply.payload)


async def call_visibility(env: Env, call: Call, work: Awaitable[T]) -> T:
    """Awaits a visibility query at most ``visibility_timeout_s`` (and the client's deadline).

    Raises:
        TimeoutError: The store did not answer in time (the servicer answers UNAVAILABLE).
    """
    return await asyncio.wait_for(work, call.bound(env.config.visibility_timeout_s))
