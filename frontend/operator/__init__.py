"""Temporal's OperatorService (``temporal.api.operatorservice.v1``) on the frontend's port.

One module per RPC Strom serves, like ``frontend.rpc``; ``HANDLERS`` maps RPC names to them.
The search attribute RPCs keep a namespace's custom attributes in its record on the
namespaces topic (``Namespace.search_attributes``): the record is compacted, keyed by
namespace and already read by every process that checks or indexes attributes, so adding
an attribute is one atomic write that the history and the frontends pick up.
"""

from __future__ import annotations

from frontend.operator import (
    add_or_update_remote_cluster,
    add_search_attributes,
    delete_namespace,
    list_clusters,
    list_search_attributes,
    remove_remote_cluster,
    remove_search_attributes,
)
from frontend.rpc import Handler

HANDLERS: dict[str, Handler] = {
    "AddSearchAttributes": add_search_attributes.handle,
    "RemoveSearchAttributes": remove_search_attributes.handle,
    "ListSearchAttributes": list_search_attributes.handle,
    "DeleteNamespace": delete_namespace.handle,
    "AddOrUpdateRemoteCluster": add_or_update_remote_cluster.handle,
    "ListClusters": list_clusters.handle,
    "RemoveRemoteCluster": remove_remote_cluster.handle,
}
"""The OperatorService RPCs Strom serves; every other one answers UNIMPLEMENTED."""
