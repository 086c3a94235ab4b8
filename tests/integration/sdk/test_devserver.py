"""The fixtures give a working Kafka and Elasticsearch; the dev server starts and stops cleanly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic
from elasticsearch import Elasticsearch

from helpers import eventually, unique_name
from strom._devserver import KafkaNode, free_port
from strom._devserver.errors import GoNotFoundError
from strom._devserver.paths import is_complete
from strom._devserver.ports import port_is_free
from strom._devserver.webui import find_go, ui_server_home
from strom.cli import READY_BANNER


def processes_mentioning(path: Path) -> list[int]:
    """Returns pids of live processes whose command line mentions `path`."""
    needle = str(path).encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            if needle in Path(f"/proc/{entry}/cmdline").read_bytes():
                found.append(int(entry))
        except OSError:
            continue
    return found


def _history_processes(path: Path) -> list[int]:
    """Pids of the history processor processes started with a state folder under `path`."""
    found = []
    for pid in processes_mentioning(path):
        try:
            if b"history_processor" in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(pid)
        except OSError:
            continue  # it exited in between
    return found


def _replication_services(kafka_port: int) -> list[int]:
    """Pids of `python -m replicator` processes of the cluster on ``kafka_port``."""
    bootstrap = f"127.0.0.1:{kafka_port}".encode()
    found = []
    for pid in processes_mentioning(Path("replicator")):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue  # it exited in between
        if b"replicator" in command and bootstrap in command:
            found.append(pid)
    return found


def create_topic(bootstrap: str, name: str, partitions: int = 1) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
    futures[name].result(timeout=30)


def topic_names(bootstrap: str) -> set[str]:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    return set(admin.list_topics(timeout=10).topics)


@pytest.fixture
def es(es_url: str) -> Iterator[Elasticsearch]:
    client = Elasticsearch(es_url, request_timeout=30)
    yield client
    client.close()


@pytest.mark.timeout(300)
def test_kafka_creates_a_topic_and_round_trips_a_record(kafka_bootstrap: str) -> None:
    topic = unique_name("devserver-roundtrip")
    create_topic(kafka_bootstrap, topic, partitions=2)
    assert topic in topic_names(kafka_bootstrap)

    producer = Producer({"bootstrap.servers": kafka_bootstrap, "acks": "all"})
    producer.produce(topic, key=b"k", value=b"hello strom")
    assert producer.flush(30) == 0

    consumer = Consumer(
        {
            "bootstrap.servers": kafka_bootstrap,
            "group.id": unique_name("devserver-group"),
            "auto.offset.reset": "earliest",
        }
    )
    try:
        consumer.subscribe([topic])

        def received() -> tuple[bytes | None, bytes | None] | None:
            msg = consumer.poll(0.5)
            if msg is None or msg.error() is not None:
                return None
            return msg.key(), msg.value()

        assert eventually(received, timeout=60) == (b"k", b"hello strom")
    finally:
        consumer.close()


@pytest.mark.timeout(300)
def test_elasticsearch_is_healthy_and_indexes_a_document(es: Elasticsearch) -> None:
    assert es.cluster.health()["status"] in ("green", "yellow")
    index = unique_name("devserver-docs")

    es.index(index=index, id="1", document={"name": "strom", "n": 1}, refresh="wait_for")

    assert es.get(index=index, id="1")["_source"] == {"name": "strom", "n": 1}
    assert es.count(index=index)["count"] == 1


@pytest.mark.timeout(300)
def test_a_kafka_node_keeps_its_data_across_restarts_unless_fresh(tmp_path: Path) -> None:
    port = free_port(count=2)
    node = KafkaNode(tmp_path / "kafka", port=port, controller_port=port + 1)
    topic = unique_name("devserver-kept")
    try:
        node.start(fresh=True)
        node.wait_ready(180)
        cluster_id = node.cluster_id
        create_topic(node.bootstrap, topic)
        node.stop()

        node.start()
        node.wait_ready(180)
        assert node.cluster_id == cluster_id
        assert topic in topic_names(node.bootstrap)
        node.stop()

        node.start(fresh=True)
        node.wait_ready(180)
        assert node.cluster_id not in (None, cluster_id)
        assert topic not in topic_names(node.bootstrap)
    finally:
        node.stop()
    assert processes_mentioning(tmp_path) == []


def ui_expected() -> bool:
    """Tells whether start-dev can run the Web UI here: built already, or Go to build it."""
    try:
        return is_complete(ui_server_home()) or bool(find_go())
    except GoNotFoundError:
        return False


def free_port_and(offset: int) -> int:
    """Returns a free port p such that p + offset is free too."""

    def candidate() -> int | None:
        port = free_port()
        return port if port + offset < 65536 and port_is_free(port + offset) else None

    return eventually(candidate, timeout=10)


@pytest.mark.timeout(600)
@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_start_dev_serves_until_interrupted_and_leaves_no_process(
    tmp_path: Path, stop_signal: signal.Signals
) -> None:
    # start-dev puts the controller on the Kafka port + 1, the transport on the ES port + 100.
    kafka_port, es_port = free_port(count=2), free_port_and(100)
    frontend_port, http_port, ui_port = free_port(), free_port(), free_port()
    metrics_port = free_port(count=4)
    argv = [sys.executable, "-m", "strom.cli", "server", "start-dev", "--fresh"]
    argv += [
        "--data-dir",
        str(tmp_path),
        "--kafka-port",
        str(kafka_port),
        "--es-port",
        str(es_port),
        "--port",
        str(frontend_port),
        "--http-port",
        str(http_port),
        "--ui-port",
        str(ui_port),
        "--metrics-port",
        str(metrics_port),
    ]
    cli = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stderr: list[str] = []
    # Drained on a thread so a chatty stderr can never block the server.
    drain = threading.Thread(target=lambda: stderr.extend(cli.stderr or []), daemon=True)
    drain.start()
    try:
        assert cli.stdout is not None
        banner = []
        for line in cli.stdout:
            banner.append(line)
            if line.startswith("Press Ctrl-C"):
                break
        text = "".join(banner)
        assert READY_BANNER in text, f"no banner; stderr:\n{''.join(stderr)}"
        assert f"Kafka bootstrap:    127.0.0.1:{kafka_port}" in text
        assert f"Elasticsearch URL:  http://127.0.0.1:{es_port}" in text
        assert f"Temporal frontend:  127.0.0.1:{frontend_port}" in text
        assert f"HTTP API:           http://127.0.0.1:{http_port}/api/v1" in text
        with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/api/v1/system-info") as answer:
            assert json.loads(answer.read())["serverVersion"]
        # Each service's Prometheus endpoint, where the banner says (frontend first); matching
        # runs in the frontend's process, so its metrics, its group's lag with them, are there.
        scraped = {}
        for offset, service in ((0, "Frontend"), (1, "History"), (3, "Visibility")):
            url = f"http://127.0.0.1:{metrics_port + offset}/metrics"
            assert f"{service + ' metrics:':20}{url}" in text
            with urllib.request.urlopen(url, timeout=10) as answer:
                scraped[service] = answer.read().decode()
            assert "# TYPE kafka_consumergroup_lag gauge" in scraped[service]
        assert "Matching metrics:" not in text
        assert 'consumergroup="strom.matching"' in scraped["Frontend"]
        assert processes_mentioning(tmp_path), "the servers should be running"
        # The replication service (a replicator per remote-cluster record) runs beside them.
        assert _replication_services(kafka_port), "the replication service should be running"
        assert "strom.history.inbox" in topic_names(f"127.0.0.1:{kafka_port}")
        health = subprocess.run(
            [
                "temporal",
                "operator",
                "cluster",
                "health",
                "--address",
                f"127.0.0.1:{frontend_port}",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert health.returncode == 0, health.stderr
        assert "SERVING" in health.stdout
        with Elasticsearch(f"http://127.0.0.1:{es_port}") as client:
            assert client.cluster.health()["status"] in ("green", "yellow")
        if stop_signal == signal.SIGTERM:
            # A crashed service is started again (once is enough to check, in one of the runs).
            (history,) = _history_processes(tmp_path)
            os.kill(history, signal.SIGKILL)
            eventually(lambda: any("history service restarted" in ln for ln in stderr), 60)
            assert any(
                "history service exited with code -9; restarting it in 1s" in ln for ln in stderr
            )
            (restarted,) = eventually(lambda: _history_processes(tmp_path) or None, 30)
            assert restarted != history
        if ui_expected():  # the Web UI, its API answered by Strom's frontend
            assert f"Temporal Web UI:    http://127.0.0.1:{ui_port}" in text
            url = f"http://127.0.0.1:{ui_port}/api/v1/namespaces"
            with urllib.request.urlopen(url, timeout=30) as answer:
                names = [ns["namespaceInfo"]["name"] for ns in json.load(answer)["namespaces"]]
            assert "default" in names
        else:
            assert "Temporal Web UI" not in text
            assert eventually(lambda: "without the Temporal Web UI" in "".join(stderr))

        cli.send_signal(stop_signal)
        assert cli.wait(timeout=120) == 0
    finally:
        if cli.poll() is None:
            # SIGTERM first: a SIGKILL'ed CLI could not stop the servers it started.
            cli.terminate()
            try:
                cli.wait(timeout=60)
            except subprocess.TimeoutExpired:
                cli.kill()
                cli.wait()
        drain.join(timeout=10)
    assert processes_mentioning(tmp_path) == []
    assert _replication_services(kafka_port) == []
    assert "Traceback" not in "".join(stderr)
