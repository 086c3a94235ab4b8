"""DevCluster: one Kafka broker and one Elasticsearch node, started and stopped together."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType

from strom._devserver.elasticsearch import ElasticsearchNode
from strom._devserver.kafka import KafkaNode

log = logging.getLogger("strom.devserver")


class DevCluster:
    """A context manager that brings up Kafka and Elasticsearch and always tears them down.

    Java and the ports are checked first, then both downloads run in parallel threads (the
    first fetch is slow), then both servers start and are awaited together. If anything fails,
    whatever was started is stopped before the error propagates.

    Args:
        data_dir: Kafka keeps its data in `data_dir/kafka`, Elasticsearch in
            `data_dir/elasticsearch`.
        kafka_port: Kafka's client port; its controller listens on the next port.
        es_port: Elasticsearch's HTTP port; its transport port is `es_port + 100`.
        fresh: Wipe both data directories before starting.
        ready_timeout: Seconds to wait for both servers to become healthy.
        kafka_sasl_users: Kafka clients must authenticate with SASL/PLAIN as one of these
            users (name -> password); None: a PLAINTEXT listener.
    """

    def __init__(
        self,
        data_dir: Path,
        kafka_port: int = 19092,
        es_port: int = 19200,
        fresh: bool = False,
        ready_timeout: float = 180.0,
        kafka_sasl_users: Mapping[str, str] | None = None,
    ) -> None:
        self.data_dir = Path(data_dir).absolute()
        self.fresh = fresh
        self.ready_timeout = ready_timeout
        self.kafka = KafkaNode(
            self.data_dir / "kafka",
            port=kafka_port,
            controller_port=kafka_port + 1,
            sasl_users=kafka_sasl_users,
        )
        self.elasticsearch = ElasticsearchNode(
            self.data_dir / "elasticsearch", http_port=es_port, transport_port=es_port + 100
        )

    @property
    def kafka_bootstrap(self) -> str:
        """Kafka's `bootstrap.servers`."""
        return self.kafka.bootstrap

    @property
    def es_url(self) -> str:
        """Elasticsearch's base URL."""
        return self.elasticsearch.url

    def start(self) -> None:
        """Installs, starts and awaits both servers; stops both if any step fails.

        Raises:
            DevServerError: A check, fetch or start failed; nothing is left running.
        """
        try:
            self.kafka.check_prerequisites()
            self.elasticsearch.check_prerequisites()
            with ThreadPoolExecutor(2, thread_name_prefix="strom-fetch") as pool:
                fetches = [
                    pool.submit(self.kafka.ensure_installed),
                    pool.submit(self.elasticsearch.ensure_installed),
                ]
                for done in fetches:
                    done.result()
            self.kafka.start(fresh=self.fresh)
            self.elasticsearch.start(fresh=self.fresh)
            # Both boot concurrently; waiting one after the other costs max(), not the sum.
            self.kafka.wait_ready(self.ready_timeout)
            self.elasticsearch.wait_ready(self.ready_timeout)
        except BaseException:
            self.stop()
            raise
        log.info("Kafka at %s and Elasticsearch at %s are ready", self.kafka_bootstrap, self.es_url)

    def stop(self) -> None:
        """Stops both servers in parallel; idempotent."""
        with ThreadPoolExecutor(2, thread_name_prefix="strom-stop") as pool:
            for stopping in [pool.submit(self.kafka.stop), pool.submit(self.elasticsearch.stop)]:
                stopping.result()

    def __enter__(self) -> DevCluster:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
