"""Kafka and Elasticsearch connection settings reach every client a Strom process creates."""

from __future__ import annotations

import argparse
import ast
import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import certifi
import pytest

from frontend.__main__ import build_parser as frontend_parser
from history_processor.__main__ import build_parser as history_parser
from matching_processor.__main__ import parse_args as matching_args
from schemas import connection
from streams import connection as kafka
from visibility_indexer.__main__ import parse_args as indexer_args

ROOT = Path(__file__).resolve().parents[3]
PACKAGES = ("streams", "schemas", "frontend", "history_processor", "matching_processor",
            "visibility_indexer", "sdk/strom")  # fmt: skip
# The dev server's own loopback broker admin, and the module that builds the clients.
EXEMPT = {"streams/connection.py", "sdk/strom/_devserver/kafka.py"}


@pytest.fixture(autouse=True)
def _unconfigured(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts and ends with no process-wide settings (and none in the environment)."""
    for name in (kafka.ENV_CONFIG_FILE, connection.ENV_ES_USERNAME, connection.ENV_ES_PASSWORD,
                 connection.ENV_ES_API_KEY, connection.ENV_ES_CA_CERTS):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(kafka, "_settings", None)
    yield
    kafka._settings = None


def _client_id_seen_by(make: Any) -> str:
    """The client.id librdkafka reports in its statistics for a client built by ``make``."""
    seen: list[str] = []
    client = make(
        {
            "bootstrap.servers": "127.0.0.1:1",
            "statistics.interval.ms": 100,
            "stats_cb": lambda stats: seen.append(json.loads(stats)["client_id"]),
            "log_level": 0,
        }
    )
    deadline = time.monotonic() + 10
    while not seen and time.monotonic() < deadline:
        client.poll(0.1)
    if isinstance(client, kafka.Consumer):
        client.close()
    assert seen, "librdkafka reported no statistics"
    return seen[0]


@pytest.mark.parametrize(
    "make",
    [
        kafka.Producer,
        lambda cfg: kafka.Consumer({**cfg, "group.id": "g"}),
        kafka.AdminClient,
    ],
    ids=["producer", "consumer", "admin"],
)
def test_configured_settings_reach_each_kind_of_client(make: Any) -> None:
    assert _client_id_seen_by(make) == "rdkafka"  # librdkafka's default
    kafka.configure({"client.id": "strom-secured"})
    assert _client_id_seen_by(make) == "strom-secured"


def test_a_clients_own_settings_win_over_configured_ones() -> None:
    kafka.configure({"isolation.level": "read_uncommitted", "security.protocol": "SSL"})
    merged = kafka.client_settings({"isolation.level": "read_committed", "group.id": "g"})
    assert merged == {
        "isolation.level": "read_committed",
        "security.protocol": "SSL",
        "group.id": "g",
    }


def test_the_environment_names_a_properties_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    properties = tmp_path / "client.properties"
    properties.write_text(
        "# SASL over TLS\nsecurity.protocol = SASL_SSL\n\n! another comment\n"
        "sasl.mechanism=SCRAM-SHA-512\nsasl.username=strom\nsasl.password=a=b\n"
    )
    monkeypatch.setenv(kafka.ENV_CONFIG_FILE, str(properties))
    assert kafka.settings() == {
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "strom",
        "sasl.password": "a=b",
    }
    assert _client_id_seen_by(kafka.Producer) == "rdkafka"  # a SASL_SSL client still builds


def test_malformed_or_unknown_settings_are_refused(tmp_path: Path) -> None:
    with pytest.raises(kafka.KafkaConfigError, match="expected KEY=VALUE"):
        kafka.parse_pairs(["security.protocol"])
    with pytest.raises(kafka.KafkaConfigError, match="No such configuration property"):
        kafka.validate({"sasl.mechanisms.typo": "PLAIN"})
    with pytest.raises(kafka.KafkaConfigError, match=r"security\.protocol"):
        kafka.validate({"security.protocol": "CARRIER_PIGEON"})
    with pytest.raises(kafka.KafkaConfigError, match="must be set"):
        kafka.validate({"security.protocol": "SASL_SSL", "sasl.mechanism": "SCRAM-SHA-256"})
    with pytest.raises(kafka.KafkaConfigError, match="cannot read"):
        kafka.load([tmp_path / "missing.properties"])


def _args(parser: argparse.ArgumentParser, *extra: str) -> argparse.Namespace:
    return parser.parse_args(["--bootstrap", "b:1", "--es-url", "http://e", *extra])


def test_flags_configure_the_process_and_win_over_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    properties = tmp_path / "k.properties"
    properties.write_text(f"security.protocol=SSL\nssl.ca.location={certifi.where()}\n")
    monkeypatch.setenv(kafka.ENV_CONFIG_FILE, str(tmp_path / "ignored-when-a-file-flag-is-given"))
    args = _args(frontend_parser(), "--kafka-config-file", str(properties),
                 "--kafka-config", "security.protocol=SASL_SSL",
                 "--kafka-config", "sasl.mechanism=PLAIN", "--kafka-config", "sasl.username=u",
                 "--kafka-config", "sasl.password=p")  # fmt: skip
    connection.from_args(args)
    assert kafka.settings() == {
        "security.protocol": "SASL_SSL",
        "ssl.ca.location": certifi.where(),
        "sasl.mechanism": "PLAIN",
        "sasl.username": "u",
        "sasl.password": "p",
    }
    with pytest.raises(SystemExit, match="ignored-when-a-file-flag-is-given"):
        connection.from_args(_args(frontend_parser()))  # without the flag, the env's file
    monkeypatch.delenv(kafka.ENV_CONFIG_FILE)
    with pytest.raises(SystemExit, match="No such configuration property"):
        connection.from_args(_args(frontend_parser(), "--kafka-config", "nope=1"))


def test_every_service_takes_the_flags() -> None:
    pairs = ["--kafka-config", "client.id=x"]
    history = history_parser().parse_args(["--bootstrap", "b", "--state-dir", "/s", *pairs])
    assert history.kafka_config == ["client.id=x"]
    assert matching_args(["--bootstrap", "b", "--reply-partition", "0", *pairs]).kafka_config
    assert kafka.settings() == {"client.id": "x"}  # matching applies them while parsing
    indexer = indexer_args([*pairs, "--es-ca-certs", certifi.where(), "--es-username", "u"])
    assert (indexer.kafka_config, indexer.es_username) == (["client.id=x"], "u")
    assert _args(frontend_parser(), *pairs, "--es-ca-certs", certifi.where()).es_ca_certs


def test_elasticsearch_settings_reach_the_client(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(connection.ENV_ES_PASSWORD, "s3cret")
    args = _args(frontend_parser(), "--es-ca-certs", certifi.where(), "--es-username", "strom")
    es = connection.from_args(args).client("https://127.0.0.1:9200")
    try:
        node = es.transport.node_pool.all()[0]
        assert node.config.ca_certs == certifi.where()
        expected = base64.b64encode(b"strom:s3cret").decode()
        assert es._headers["authorization"] == f"Basic {expected}"
    finally:
        es.close()

    monkeypatch.delenv(connection.ENV_ES_PASSWORD)
    monkeypatch.setenv(connection.ENV_ES_API_KEY, "a2V5")
    es = connection.from_args(_args(frontend_parser())).client("http://127.0.0.1:9200")
    try:
        assert es._headers["authorization"] == "ApiKey a2V5"
    finally:
        es.close()
    with pytest.raises(SystemExit, match="not both"):
        connection.from_args(_args(frontend_parser(), "--es-username", "u"))
    with pytest.raises(SystemExit, match="not found"):
        connection.from_args(_args(frontend_parser(), "--es-ca-certs", "/no/such.pem"))


def test_no_module_builds_a_kafka_client_past_the_settings() -> None:
    offenders = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if relative in EXEMPT:
                continue
            tree = ast.parse(path.read_text("utf-8"))
            direct = {
                alias.asname or alias.name
                for node in ast.walk(tree)
                if isinstance(node, ast.ImportFrom)
                and (node.module or "").startswith("confluent_kafka")
                for alias in node.names
                if alias.name in ("Producer", "Consumer", "AdminClient")
            }
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call):
                    continue
                name = node.func.id if isinstance(node.func, ast.Name) else None
                attr = node.func.attr if isinstance(node.func, ast.Attribute) else None
                owner = node.func.value if isinstance(node.func, ast.Attribute) else None
                via_module = (
                    attr in ("Producer", "Consumer", "AdminClient")
                    and isinstance(owner, ast.Name)
                    and owner.id in ("confluent_kafka", "admin")
                )
                if name in direct or via_module:
                    offenders.append(f"{relative}:{node.lineno}")
    assert offenders == []


def test_clients_asking_for_statistics_feed_the_sink(monkeypatch: pytest.MonkeyPatch) -> None:
    reports: list[str] = []
    monkeypatch.setattr(kafka, "_statistics_sink", None)
    kafka.on_statistics(reports.append)
    try:
        asked = kafka.client_settings({"statistics.interval.ms": 100})
        assert asked["stats_cb"] == reports.append
        # Clients that do not ask, or bring their own callback, are left alone.
        assert "stats_cb" not in kafka.client_settings({"bootstrap.servers": "x"})
        own = kafka.client_settings({"statistics.interval.ms": 100, "stats_cb": print})
        assert own["stats_cb"] is print
        kafka.configure({"statistics.interval.ms": "100"})  # from --kafka-config: a string
        producer = kafka.Producer({"bootstrap.servers": "127.0.0.1:1", "log_level": 0})
        deadline = time.monotonic() + 10
        while not reports and time.monotonic() < deadline:
            producer.poll(0.1)
        assert reports and json.loads(reports[0])["type"] == "producer"
    finally:
        kafka.on_statistics(None)
