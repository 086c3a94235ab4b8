"""The Kafka broker a benchmark runs against: $STROM_KAFKA_BOOTSTRAP, else a dev broker."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def broker() -> Iterator[str]:
    """Yields a bootstrap address; a broker started here is stopped on exit."""
    bootstrap = os.environ.get("STROM_KAFKA_BOOTSTRAP")
    if bootstrap:
        yield bootstrap
        return
    from strom._devserver import KafkaNode, free_port

    with tempfile.TemporaryDirectory() as tmp:
        node = KafkaNode(Path(tmp), port=free_port(), controller_port=free_port())
        node.ensure_installed()
        node.start(fresh=True)
        try:
            node.wait_ready(120)
            yield node.bootstrap
        finally:
            node.stop()
