"""Where the dev servers keep their downloads (the cache) and their data."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

KAFKA_VERSION = "4.1.1"
ELASTICSEARCH_VERSION = "8.19.3"
DEFAULT_CLUSTER_NAME = "dev"
COMPLETE_MARKER = ".complete"


def cache_root(environ: Mapping[str, str] | None = None) -> Path:
    """Returns the download cache: `$STROM_HOME`, else `~/.cache/strom`.

    Args:
        environ: The environment to read; `os.environ` when omitted.
    """
    env = os.environ if environ is None else environ
    home = env.get("STROM_HOME")
    if home:
        return Path(home).expanduser().absolute()
    return Path.home() / ".cache" / "strom"


def default_data_dir(
    cluster_name: str = DEFAULT_CLUSTER_NAME, environ: Mapping[str, str] | None = None
) -> Path:
    """Returns the data directory of a named dev cluster: `<cache root>/data/<cluster name>`.

    Args:
        cluster_name: One directory per cluster, so several can coexist.
        environ: The environment to read; `os.environ` when omitted.
    """
    return cache_root(environ) / "data" / cluster_name


def kafka_home(environ: Mapping[str, str] | None = None) -> Path:
    """Returns the cached Kafka install: its jars live in `libs/` below it."""
    return cache_root(environ) / f"kafka-{KAFKA_VERSION}"


def elasticsearch_home(environ: Mapping[str, str] | None = None) -> Path:
    """Returns the cached, unpacked Elasticsearch install (`bin/`, `config/`, `lib/`, ...)."""
    return cache_root(environ) / f"elasticsearch-{ELASTICSEARCH_VERSION}"


def is_complete(install_dir: Path) -> bool:
    """Tells whether a cached install finished: the marker is written last, before the rename."""
    return (install_dir / COMPLETE_MARKER).is_file()
