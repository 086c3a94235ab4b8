"""Fetches, starts, health-checks and stops a real Kafka broker and Elasticsearch node for dev."""

from strom._devserver.cluster import DevCluster
from strom._devserver.elasticsearch import ElasticsearchNode
from strom._devserver.errors import (
    DevServerError,
    FetchFailedError,
    JavaNotFoundError,
    KafkaFormatError,
    MavenNotFoundError,
    NotHealthyError,
    PortInUseError,
    ProcessExitedError,
    UserSetupError,
)
from strom._devserver.kafka import KafkaNode
from strom._devserver.paths import cache_root, default_data_dir
from strom._devserver.ports import free_port

__all__ = [
    "DevCluster",
    "DevServerError",
    "ElasticsearchNode",
    "FetchFailedError",
    "JavaNotFoundError",
    "KafkaFormatError",
    "KafkaNode",
    "MavenNotFoundError",
    "NotHealthyError",
    "PortInUseError",
    "ProcessExitedError",
    "UserSetupError",
    "cache_root",
    "default_data_dir",
    "free_port",
]
