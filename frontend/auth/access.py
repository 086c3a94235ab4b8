"""Which role each frontend RPC needs: Temporal's scope and access of every API method."""

from __future__ import annotations

import enum

from temporalio.api.workflowservice.v1.service_pb2_grpc import WorkflowServiceServicer

WORKFLOW_SERVICE = "/temporal.api.workflowservice.v1.WorkflowService/"
OPERATOR_SERVICE = "/temporal.api.operatorservice.v1.OperatorService/"
HEALTH_CHECK = "/grpc.health.v1.Health/Check"


class Role(enum.IntFlag):
    """A principal's roles in one namespace or cluster-wide, a bitmask as Temporal's.

    Temporal compares a holder's mask with the required role as numbers, so a principal
    with only ``WORKER`` is below ``READER``; Strom keeps that rule.
    """

    NONE = 0
    WORKER = 1
    READER = 2
    WRITER = 4
    ADMIN = 8


class Scope(enum.Enum):
    """Whether an RPC acts on the namespace of its request or on the whole cluster."""

    NAMESPACE = "namespace"
    CLUSTER = "cluster"


_READ = Role.READER
_WRITE = Role.WRITER
_ADMIN = Role.ADMIN

# WorkflowService RPCs that only read. Every other WorkflowService RPC writes, except the
# namespace administration below; the cluster-wide ones act on no namespace.
_WORKFLOW_READS = frozenset(
    {
        "CountActivityExecutions", "CountNexusOperationExecutions", "CountSchedules",
        "CountWorkers", "CountWorkflowExecutions", "DescribeActivityExecution",
        "DescribeBatchOperation", "DescribeDeployment", "DescribeNamespace",
        "DescribeNexusOperationExecution", "DescribeSchedule", "DescribeTaskQueue",
        "DescribeWorker", "DescribeWorkerDeployment", "DescribeWorkerDeploymentVersion",
        "DescribeWorkflowExecution", "DescribeWorkflowRule", "FetchWorkerConfig",
        "GetCurrentDeployment", "GetDeploymentReachability", "GetWorkerBuildIdCompatibility",
        "GetWorkerTaskReachability", "GetWorkerVersioningRules", "GetWorkflowExecutionHistory",
        "GetWorkflowExecutionHistoryReverse", "ListActivityExecutions",
        "ListArchivedWorkflowExecutions", "ListBatchOperations", "ListClosedWorkflowExecutions",
        "ListDeployments", "ListNexusOperationExecutions", "ListOpenWorkflowExecutions",
        "ListScheduleMatchingTimes", "ListSchedules", "ListTaskQueuePartitions",
        "ListWorkerDeployments", "ListWorkers", "ListWorkflowExecutions", "ListWorkflowRules",
        "PollActivityExecution", "PollNexusOperationExecution", "PollWorkflowExecutionUpdate",
        "QueryWorkflow", "ScanWorkflowExecutions",
        "ValidateWorkerDeploymentVersionComputeConfig",
    }
)  # fmt: skip
_WORKFLOW_CLUSTER_READS = frozenset(
    {"GetClusterInfo", "GetSearchAttributes", "GetSystemInfo", "ListNamespaces"}
)
_WORKFLOW_ADMIN = frozenset({"DeprecateNamespace", "RegisterNamespace", "UpdateNamespace"})
_OPERATOR_NAMESPACE = {
    "AddSearchAttributes": _ADMIN,
    "DeleteNamespace": _ADMIN,
    "ListSearchAttributes": _READ,
    "RemoveSearchAttributes": _ADMIN,
}

_WORKFLOW_RPCS = frozenset(
    name
    for name, value in vars(WorkflowServiceServicer).items()
    if callable(value) and not name.startswith("_")
)

ALWAYS_ALLOWED = frozenset({HEALTH_CHECK, WORKFLOW_SERVICE + "GetSystemInfo"})
"""Health checks, which Temporal answers to anyone: they disclose nothing."""


def required(method: str) -> tuple[Scope, Role] | None:
    """The scope and the role an RPC needs, None for a method nobody may call.

    Args:
        method: The full gRPC method name, ``/package.Service/Rpc``.
    """
    if method.startswith(WORKFLOW_SERVICE):
        name = method.removeprefix(WORKFLOW_SERVICE)
        if name in _WORKFLOW_CLUSTER_READS:
            return Scope.CLUSTER, _READ
        if name in _WORKFLOW_READS:
            return Scope.NAMESPACE, _READ
        if name in _WORKFLOW_ADMIN:
            return Scope.NAMESPACE, _ADMIN
        return (Scope.NAMESPACE, _WRITE) if name in _WORKFLOW_RPCS else None
    if method.startswith(OPERATOR_SERVICE):
        name = method.removeprefix(OPERATOR_SERVICE)
        if name in _OPERATOR_NAMESPACE:
            return Scope.NAMESPACE, _OPERATOR_NAMESPACE[name]
        # Clusters and Nexus endpoints: cluster-wide administration.
        return Scope.CLUSTER, _ADMIN
    return None
