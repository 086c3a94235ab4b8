"""A Strom frontend names its Kafka in GetClusterInfo's headers, for remote replicators."""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio.api.workflowservice.v1 import GetClusterInfoRequest

from frontend.config import FrontendConfig
from frontend.context import Call, Env
from frontend.rpc import get_cluster_info
from schemas.clusters import KAFKA_BOOTSTRAP_HEADER, InMemoryClusterStore, KafkaClusterStore


def _info(clusters: Any) -> Call:
    env = Env(FrontendConfig(), None, None, None, None, clusters=clusters)  # type: ignore[arg-type]
    call = Call("GetClusterInfo", None)
    asyncio.run(get_cluster_info.handle(env, GetClusterInfoRequest(), call))
    return call


def test_the_frontend_names_its_kafka_for_remote_replicators() -> None:
    call = _info(KafkaClusterStore("kafka-a:9092", "a"))
    assert call.headers == [(KAFKA_BOOTSTRAP_HEADER, "kafka-a:9092")]
    assert _info(InMemoryClusterStore()).headers == []  # no Kafka to name
