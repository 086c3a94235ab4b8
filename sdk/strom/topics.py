"""Strom's topic layout for users of the `strom` package (defined in `schemas.topics`)."""

from schemas.topics import (
    DEFAULT_PREFIX,
    DEFAULT_REPLY_PARTITIONS,
    DEFAULT_SHARDS,
    DEFAULT_TASK_PARTITIONS,
    Topology,
)

__all__ = [
    "DEFAULT_PREFIX",
    "DEFAULT_REPLY_PARTITIONS",
    "DEFAULT_SHARDS",
    "DEFAULT_TASK_PARTITIONS",
    "Topology",
]
