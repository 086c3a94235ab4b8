"""ListNamespaces: pages over the namespaces, sorted by name."""

from __future__ import annotations

from temporalio.api.workflowservice.v1 import ListNamespacesRequest, ListNamespacesResponse

from frontend import errors
from frontend.context import Call, Env
from frontend.rpc.describe_namespace import describe
from schemas.namespaces import State

_DEFAULT_PAGE_SIZE = 100


async def handle(env: Env, request: ListNamespacesRequest, call: Call) -> ListNamespacesResponse:
    """One page; the page token is the name of the last namespace of the previous page.

    Deleted namespaces are left out unless the filter asks for them, like Temporal.
    """
    page_size = request.page_size if request.page_size > 0 else _DEFAULT_PAGE_SIZE
    try:
        after = request.next_page_token.decode()
    except UnicodeDecodeError:
        raise errors.invalid_argument("Invalid NextPageToken.") from None
    include_deleted = request.namespace_filter.include_deleted
    candidates = [
        ns
        for ns in env.namespaces.list()
        if ns.name > after and (include_deleted or ns.state is not State.DELETED)
    ]
    page = candidates[:page_size]
    token = page[-1].name.encode() if len(candidates) > page_size else b""
    return ListNamespacesResponse(
        namespaces=[describe(ns, env.config) for ns in page], next_page_token=token
    )
