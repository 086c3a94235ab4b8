"""Temporal's system namespace ``temporal-system``, where the namespace-reclaim workflows run."""

from __future__ import annotations

import argparse
import os

from schemas.namespaces import KafkaNamespaceRegistry, Namespace, namespace_id
from schemas.retention import (
    DEFAULT_MIN_RETENTION_MS,
    MIN_RETENTION_ENV,
    SYSTEM_NAMESPACE,
    parse_duration_ms,
)

SYSTEM_RETENTION_MS = 7 * 24 * 3600 * 1000
"""Temporal's retention of the system namespace (``SystemNamespaceRetention``): seven days."""


def system_namespace(cluster_name: str) -> Namespace:
    """The system namespace of a cluster, with Temporal's description and retention."""
    return Namespace(
        name=SYSTEM_NAMESPACE,
        id=namespace_id(cluster_name, SYSTEM_NAMESPACE),
        description="Temporal internal system namespace",
        owner_email="temporal-core@temporal.io",
        retention_ms=SYSTEM_RETENTION_MS,
    )


def ensure_system(registry: KafkaNamespaceRegistry) -> Namespace:
    """Registers the system namespace when the topic has none and returns it."""
    existing = registry.get(SYSTEM_NAMESPACE)
    if existing is not None:
        return existing
    return registry.register(system_namespace(registry.cluster_name))


def add_min_retention_argument(parser: argparse.ArgumentParser) -> None:
    """The frontend's ``--namespace-min-retention`` (default from the environment)."""
    parser.add_argument(
        "--namespace-min-retention",
        type=_duration_ms,
        default=os.environ.get(MIN_RETENTION_ENV) or f"{DEFAULT_MIN_RETENTION_MS // 1000}s",
        metavar="DURATION",
        help="shortest retention a namespace may have, e.g. 1h, 10s (Temporal's dynamic "
        f"config system.namespaceMinRetentionLocal; default: ${MIN_RETENTION_ENV}, else 1h)",
    )


def _duration_ms(text: str) -> int:
    try:
        return parse_duration_ms(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
