"""GetSystemInfo: the server version and the capabilities that hold for Strom."""

from __future__ import annotations

from temporalio.api.workflowservice.v1 import GetSystemInfoRequest, GetSystemInfoResponse

from frontend.context import Call, Env


async def handle(env: Env, request: GetSystemInfoRequest, call: Call) -> GetSystemInfoResponse:
    """Answers what clients may rely on; a capability is True only if Strom honours it.

    SDKs read these at connect time. The Rust core uses its internal (SDK-metadata) flags
    only when sdk_metadata is set, so the history must then record the ``sdk_metadata`` of
    every completion in its WorkflowTaskCompleted event, as Temporal does.
    """
    capabilities = GetSystemInfoResponse.Capabilities(
        # Headers of signals and queries travel in the request protos history stores as is.
        signal_and_query_header=True,
        # Strom answers INTERNAL only for its own bugs, retryable faults are UNAVAILABLE.
        internal_error_differentiation=True,
        # RespondActivityTaskFailed.last_heartbeat_details is forwarded to history.
        activity_failure_include_heartbeat=True,
        supports_schedules=False,
        # Failures are stored as the SDK sent them, encoded_attributes included.
        encoded_failure_attributes=True,
        # Workers then stamp their completions with their build id (worker_version_stamp,
        # else only binary_checksum), which WorkflowTaskCompleted records and from which the
        # SDK tells a replaying workflow its current build id. Strom has no build-id
        # versioning rules (versioning 2): such workers poll as unversioned ones.
        build_id_based_versioning=True,
        # ModifyWorkflowProperties (workflow.upsert_memo) is a command history executes.
        upsert_memo=True,
        # StartWorkflowExecution honours request_eager_execution (history's eager_start).
        eager_workflow_start=True,
        # WorkflowTaskCompleted records the sdk_metadata of the completion request.
        sdk_metadata=True,
        count_group_by_execution_status=True,
        nexus=False,
        server_scaled_deployments=False,
    )
    return GetSystemInfoResponse(
        server_version=env.config.server_version, capabilities=capabilities
    )
